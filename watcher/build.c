/* placeholder: build.c — being written */
