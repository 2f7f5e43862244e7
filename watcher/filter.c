/* placeholder: filter.c — being written */
