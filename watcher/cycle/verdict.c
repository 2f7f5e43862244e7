/* SPDX-License-Identifier: MIT */
/*
 * verdict.c — the --once exit status rules (pure).
 */
#include "verdict.h"

int kw_verdict_final(const struct kw_verdict *v, int status)
{
        if (!v->once)
                return status;
        if (status == KW_EXIT_OK && v->load_failed)
                status = KW_EXIT_LOAD;
        if (v->oopsed && (status == KW_EXIT_OK || status == KW_EXIT_EXPECT || status == KW_EXIT_LOAD ||
                          status == KW_EXIT_GUEST))
                return KW_EXIT_OOPS;
        return status;
}

int kw_verdict_after_run(int status_before, int run_status)
{
        return status_before == KW_EXIT_OK && run_status != 0 ? KW_EXIT_EXPECT : status_before;
}

int kw_verdict_signal(bool once, int signo)
{
        return once ? 128 + signo : KW_EXIT_OK;
}
