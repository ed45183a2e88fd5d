#include "uc.h"
#include <stdio.h>
#include <stdlib.h>
enum { RAX=35, RBX=37, RCX=38, RDX=40, RIP=41 };
static uc_engine *uc; static int mode; static int hits;
static uint64_t rr(int r){uint64_t v=0; uc_reg_read(uc,r,&v); return v;}
static void rw(int r,uint64_t v){uc_reg_write(uc,r,&v);}
static void memhook(uc_engine *u, int type, uint64_t addr, int size, int64_t value, void *d){
  hits++; printf("  write hook addr %lx value %lx rip %lx rax %lx rcx %lx\n", addr, value, rr(RIP), rr(RAX), rr(RCX));
  if (hits>1) return;
  if (mode==1) uc_emu_stop(u);
  if (mode==2) rw(RIP, 0x1008);   /* the next instruction */
}
static void codehook(uc_engine *u, uint64_t addr, uint32_t size, void *d){ printf("  code hook at %lx rcx %lx\n", addr, rr(RCX)); }
int main(int argc,char**argv){
  mode=atoi(argv[1]);
  uc_open(4, 8, &uc); uc_mem_map(uc,0,0x400000,7);
  unsigned char code[] = {
    0x48,0x89,0x1c,0x25,0x20,0x00,0x20,0x00,   /* 1000 mov [0x200020],rbx */
    0x48,0xff,0xc1,                            /* 1008 inc rcx */
    0x48,0xff,0xc1,                            /* 100b inc rcx */
    0x48,0xff,0xc1,                            /* 100e inc rcx */
    0xf4 };
  uc_mem_write(uc,0x1000,code,sizeof code);
  rw(RBX,0x1234);
  uc_hook h; uc_hook_add(uc,&h,(1<<11),(void*)memhook,0,0x200000,0x200fff);
  if (argc>2) { uc_hook h2; uc_hook_add(uc,&h2,4,(void*)codehook,0,0x1008,0x1008); }
  int e=uc_emu_start(uc,0x1000,0,0,0); uint64_t m=0; uc_mem_read(uc,0x200020,&m,8);
  printf("mode %d: run %s rip %lx rcx %lx mem %lx\n",mode,uc_strerror(e),rr(RIP),rr(RCX),m);
  if (mode) { e=uc_emu_start(uc,rr(RIP),0,0,0); uc_mem_read(uc,0x200020,&m,8); printf(" resumed: run %s rip %lx rcx %lx mem %lx hits %d\n",uc_strerror(e),rr(RIP),rr(RCX),m,hits); }
  return 0;
}
