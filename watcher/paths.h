/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paths.h — where kmod-watch's own files are: the agent binaries, the kit
 * script and kw-hugepages.so, in the build tree when run from it, else where
 * `meson install` put them; KMOD_WATCH_AGENT, KMOD_WATCH_KIT_SCRIPT and
 * KMOD_WATCH_HUGEPAGES override. Also the cache and runtime directories.
 */
#pragma once

#include <stddef.h>

/* The static agent for arch ("x86_64", "arm64"); -ENOENT with a hint if missing. */
int kw_path_agent(const char *arch, char *buf, size_t size);
/* The kit script (kmod-watch-kit). */
int kw_path_kit_script(char *buf, size_t size);
/* kw-hugepages.so, preloaded into the replay's commands (-ENOENT: not built here);
 * KMOD_WATCH_HUGEPAGES (a path) overrides */
int kw_path_hugepages(char *buf, size_t size);
/* ${XDG_CACHE_HOME:-~/.cache}/kmod-watch */
int kw_path_cache(char *buf, size_t size);
/* A new private (0700) directory for sockets and the composed initrd:
 * ${XDG_RUNTIME_DIR:-/tmp}/kmod-watch.XXXXXX, locked (flock on its "lock")
 * while this process lives. First removes the directories there of runs that
 * are gone (killed: their lock is free); a live run's is never touched. One
 * per process. */
int kw_path_runtime_new(char *buf, size_t size);
/* Removes what kmod-watch put in a runtime directory, then the directory. */
void kw_path_runtime_remove(const char *dir);
