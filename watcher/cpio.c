/* placeholder: cpio.c — being written */
