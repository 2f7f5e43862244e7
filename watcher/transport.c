/* placeholder: transport.c — being written */
