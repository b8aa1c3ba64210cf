/* The unwinder for the musl builds (scripts/release): gcc's own libgcc_eh.a, as gcc links it into
 * static C++ programs, plus what it asks of glibc that musl does not have. Rust's panic=unwind
 * needs an unwinder (`-lunwind`); Debian ships none built for musl.
 *
 * gcc 12's libgcc_eh (x86_64, aarch64) finds a PC's unwind tables with glibc 2.35's
 * _dl_find_object; musl has dl_iterate_phdr, which answers the same from the program headers.
 * armhf's libgcc_eh (ARM EHABI) asks __gnu_Unwind_Find_exidx for the .ARM.exidx table instead.
 * Both are only ever asked about this one static executable, but look the PC up properly.
 * scripts/release adds this object to its copy of libgcc_eh.a, named libunwind.a (what Rust's
 * unwind crate links for musl), and links with `-u psmonitor_libgcc_eh_needs` so that it is
 * always pulled in: armhf's reference to __gnu_Unwind_Find_exidx is weak and would not be. */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* libgcc_eh calls these through weak references (so that single-threaded C programs need no
 * pthreads), and a weak reference does not pull a function out of musl's libc.a: without this
 * table they would be NULL once threads are running, and the first panic jumps to address 0. */
__attribute__((used)) void *const psmonitor_libgcc_eh_needs[] = {
    (void *)pthread_once,        (void *)pthread_key_create,    (void *)pthread_getspecific,
    (void *)pthread_setspecific, (void *)pthread_mutex_lock,    (void *)pthread_mutex_unlock,
};

struct lookup {
  uintptr_t pc;
  void *start, *end, *table;
  int count;
};

static int find(struct dl_phdr_info *info, size_t size, void *data) {
  struct lookup *l = data;
  const ElfW(Phdr) *table = NULL;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  int hit = 0;
  (void)size;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    uintptr_t a = info->dlpi_addr + p->p_vaddr;
    if (p->p_type == PT_LOAD) {
      if (a < lo) lo = a;
      if (a + p->p_memsz > hi) hi = a + p->p_memsz;
      if (l->pc >= a && l->pc < a + p->p_memsz) hit = 1;
    }
#ifdef __arm__
    if (p->p_type == PT_ARM_EXIDX) table = p;
#else
    if (p->p_type == PT_GNU_EH_FRAME) table = p;
#endif
  }
  if (!hit || !table) return 0;
  l->start = (void *)lo;
  l->end = (void *)hi;
  l->table = (void *)(info->dlpi_addr + table->p_vaddr);
  l->count = (int)(table->p_memsz / 8);
  return 1;
}

#ifdef __arm__
typedef unsigned _Unwind_Ptr __attribute__((__mode__(__pointer__)));
_Unwind_Ptr __gnu_Unwind_Find_exidx(_Unwind_Ptr pc, int *count) {
  struct lookup l = {.pc = pc};
  if (!dl_iterate_phdr(find, &l)) return 0;
  *count = l.count;
  return (_Unwind_Ptr)l.table;
}
#else
/* glibc's struct dl_find_object for x86_64 and aarch64 (no dlfo_eh_dbase, no dlfo_eh_count). */
struct dl_find_object {
  unsigned long long dlfo_flags;
  void *dlfo_map_start;
  void *dlfo_map_end;
  struct link_map *dlfo_link_map;
  void *dlfo_eh_frame;
  unsigned long long reserved[7];
};
int _dl_find_object(void *pc, struct dl_find_object *result) {
  struct lookup l = {.pc = (uintptr_t)pc};
  if (!dl_iterate_phdr(find, &l)) return -1;
  result->dlfo_flags = 0;
  result->dlfo_map_start = l.start;
  result->dlfo_map_end = l.end;
  result->dlfo_link_map = NULL;
  result->dlfo_eh_frame = l.table;
  return 0;
}
#endif
