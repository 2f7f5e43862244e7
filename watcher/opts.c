/* placeholder: opts.c — being written */
