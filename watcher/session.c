/* placeholder: session.c — being written */
