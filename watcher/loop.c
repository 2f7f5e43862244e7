/* placeholder: loop.c — being written */
