/* placeholder: paths.c — being written */
