#include <stdint.h>
#include <stddef.h>
typedef void uc_engine; typedef size_t uc_hook;
int uc_open(int arch, int mode, uc_engine **uc);
int uc_mem_map(uc_engine*, uint64_t, size_t, uint32_t);
int uc_mem_write(uc_engine*, uint64_t, const void*, size_t);
int uc_mem_read(uc_engine*, uint64_t, void*, size_t);
int uc_reg_read(uc_engine*, int, void*);
int uc_reg_write(uc_engine*, int, const void*);
int uc_emu_start(uc_engine*, uint64_t, uint64_t, uint64_t, size_t);
int uc_emu_stop(uc_engine*);
int uc_hook_add(uc_engine*, uc_hook*, int, void*, void*, uint64_t, uint64_t, ...);
const char* uc_strerror(int);
typedef struct { uint32_t rid; uint64_t value; } uc_x86_msr;
typedef struct { uint16_t selector; uint64_t base; uint32_t limit; uint32_t flags; } uc_x86_mmr;
