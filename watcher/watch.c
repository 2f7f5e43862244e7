/* placeholder: watch.c — being written */
