/* placeholder: reload.c — being written */
