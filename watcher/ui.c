/* placeholder: ui.c — being written */
