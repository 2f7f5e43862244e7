/* SPDX-License-Identifier: GPL-2.0-only */
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
        if (status == KW_EXIT_OK && v->leaked)
                status = KW_EXIT_EXPECT;
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

bool kw_verdict_leak(const uint64_t *samples, size_t n, double min_per_cycle, double *ret_per_cycle)
{
        if (ret_per_cycle)
                *ret_per_cycle = 0;
        if (n < 3)
                return false;
        /* the least-squares line through the samples: its slope is the growth per cycle, and
         * how well it fits (R²) tells a steady climb from noise that happens to end higher */
        double mx = (double)(n - 1) / 2.0, my = 0, sxy = 0, sxx = 0, syy = 0;
        for (size_t i = 0; i < n; i++)
                my += (double)samples[i];
        my /= (double)n;
        for (size_t i = 0; i < n; i++) {
                double dx = (double)i - mx, dy = (double)samples[i] - my;
                sxy += dx * dy;
                sxx += dx * dx;
                syy += dy * dy;
        }
        double slope = sxy / sxx;
        double r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 0;
        /* sustained: each half of the run climbs by a quarter of the whole or more */
        double total = (double)samples[n - 1] - (double)samples[0];
        size_t mid = (n - 1) / 2;
        double first = (double)samples[mid] - (double)samples[0];
        double second = (double)samples[n - 1] - (double)samples[mid];

        if (ret_per_cycle)
                *ret_per_cycle = slope;
        return slope >= min_per_cycle && r2 >= KW_LEAK_MIN_FIT && total > 0 && first * 4 >= total &&
               second * 4 >= total;
}
