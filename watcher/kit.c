/* placeholder: kit.c — being written */
