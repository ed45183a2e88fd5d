#include "uc.h"
#include <stdio.h>
#include <stdlib.h>
enum { RAX=35, RBX=37, RCX=38, RDX=40, RIP=41 };
static uc_engine *uc; static int hits;
static uint64_t rr(int r){uint64_t v=0; uc_reg_read(uc,r,&v); return v;}
static void rw(int r,uint64_t v){uc_reg_write(uc,r,&v);}
static void memhook(uc_engine *u, int type, uint64_t addr, int size, int64_t value, void *d){
  hits++; printf("  hook type %d addr %lx value %lx rip %lx rcx %lx\n", type, addr, value, rr(RIP), rr(RCX));
  if (hits==1) uc_emu_stop(u);
}
int main(int argc,char**argv){
  uc_open(4, 8, &uc); uc_mem_map(uc,0,0x400000,7);
  unsigned char code[] = {
    0x48,0xff,0xc1,                            /* 1000 inc rcx */
    0x48,0xff,0x04,0x25,0x20,0x00,0x20,0x00,   /* 1003 inc qword [0x200020] */
    0x48,0xff,0xc1,                            /* 100b inc rcx */
    0x48,0xff,0xc1,                            /* 100e inc rcx */
    0xeb,0xed };                               /* 1011 jmp 1000 */
  uc_mem_write(uc,0x1000,code,sizeof code);
  uc_hook h; uc_hook_add(uc,&h,(1<<11),(void*)memhook,0,0x200000,0x200fff);
  int e=uc_emu_start(uc,0x1000,0,0,0); uint64_t m=0; uc_mem_read(uc,0x200020,&m,8);
  printf("stopped in hook: %s rip %lx rcx %lx mem %lx\n",uc_strerror(e),rr(RIP),rr(RCX),m);
  m=0; uc_mem_write(uc,0x200020,&m,8); /* undo */
  e=uc_emu_start(uc,rr(RIP),0,0,1); uc_mem_read(uc,0x200020,&m,8);
  printf("count=1: %s rip %lx rcx %lx mem %lx hits %d\n",uc_strerror(e),rr(RIP),rr(RCX),m,hits);
  e=uc_emu_start(uc,rr(RIP),0,0,1); uc_mem_read(uc,0x200020,&m,8);
  printf("count=1 again: %s rip %lx rcx %lx mem %lx hits %d\n",uc_strerror(e),rr(RIP),rr(RCX),m,hits);
  e=uc_emu_start(uc,rr(RIP),0,0,5); uc_mem_read(uc,0x200020,&m,8);
  printf("count=5: %s rip %lx rcx %lx mem %lx hits %d\n",uc_strerror(e),rr(RIP),rr(RCX),m,hits);
  e=uc_emu_start(uc,rr(RIP),0,0,0); 
  return 0;
}
