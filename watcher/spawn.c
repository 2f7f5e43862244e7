/* SPDX-License-Identifier: MIT */
/*
 * spawn.c — see spawn.h.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int kw_spawn(char *const argv[], const struct kw_spawn_opts *o, pid_t *ret_pid, int *ret_out)
{
        int pipefd[2];

        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (o->new_session)
                        setsid();
                else
                        setpgid(0, 0);
                prctl(PR_SET_PDEATHSIG, o->death_signal);
                if (getppid() != parent) /* died before prctl: nobody to serve */
                        _exit(127);
                int devnull = open("/dev/null", O_RDONLY);
                dup2(devnull, 0);
                /* the child's end blocks, as programs expect of stdout */
                fcntl(pipefd[1], F_SETFL, fcntl(pipefd[1], F_GETFL) & ~O_NONBLOCK);
                dup2(pipefd[1], 1);
                dup2(pipefd[1], 2);
                syscall(SYS_close_range, 3, ~0u, 0);
                execvp(argv[0], argv);
                fprintf(stderr, "kmod-watch: cannot run %s: %m\n", argv[0]);
                _exit(127);
        }
        close(pipefd[1]);
        *ret_pid = pid;
        *ret_out = pipefd[0];
        return 0;
}
