/* placeholder: debounce.c — being written */
