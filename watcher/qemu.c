/* placeholder: qemu.c — being written */
