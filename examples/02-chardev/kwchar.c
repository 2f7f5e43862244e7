// SPDX-License-Identifier: GPL-2.0
/*
 * A misc character device, /dev/kwchar: reading it returns a line; writing it
 * logs what was written. Exercise it after each load with
 *   kmod-watch --run 'cat /dev/kwchar; echo ping > /dev/kwchar' examples/02-chardev
 */
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

static const char message[] = "kwchar: hello from the device\n";

static ssize_t kwchar_read(struct file *f, char __user *buf, size_t len, loff_t *pos)
{
	return simple_read_from_buffer(buf, len, pos, message, sizeof(message) - 1);
}

static ssize_t kwchar_write(struct file *f, const char __user *buf, size_t len, loff_t *pos)
{
	char tmp[64];
	size_t n = min(len, sizeof(tmp) - 1);

	if (copy_from_user(tmp, buf, n))
		return -EFAULT;
	tmp[n] = 0;
	pr_info("kwchar: got %zu bytes: %s\n", len, strim(tmp));
	return len;
}

static const struct file_operations kwchar_fops = {
	.owner = THIS_MODULE,
	.read = kwchar_read,
	.write = kwchar_write,
	.llseek = default_llseek,
};

static struct miscdevice kwchar_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kwchar",
	.fops = &kwchar_fops,
	.mode = 0666,
};

static int __init kwchar_init(void)
{
	int r = misc_register(&kwchar_dev);

	if (!r)
		pr_info("kwchar: /dev/kwchar ready\n");
	return r;
}

static void __exit kwchar_exit(void)
{
	misc_deregister(&kwchar_dev);
}

module_init(kwchar_init);
module_exit(kwchar_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: a misc character device");
