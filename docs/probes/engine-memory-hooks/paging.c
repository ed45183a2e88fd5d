#include "uc.h"
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
int uc_ctl(uc_engine*, int, ...);
enum { RAX=35, RBX=37, RCX=38, RIP=41, CR0=50, CR3=53, CR4=54 };
static uc_engine *uc;
static uint64_t rr(int r){uint64_t v=0; uc_reg_read(uc,r,&v); return v;}
static void rw(int r,uint64_t v){int e=uc_reg_write(uc,r,&v); if(e) printf("  reg_write %d: %s\n",r,uc_strerror(e));}
static void memhook(uc_engine *u, int type, uint64_t addr, int size, int64_t value, void *d){
  printf("  hook %s type %d addr %lx size %d value %lx rip %lx\n", (char*)d, type, addr, size, value, rr(RIP)); }
static void codehook(uc_engine *u, uint64_t addr, uint32_t size, void *d){ printf("  code hook %s at %lx\n",(char*)d, addr); }
int main(){
  uc_open(4, 8, &uc); uc_mem_map(uc,0,0x400000,7);
  uint64_t pml4[512]={0}, pdpt[512]={0}, pd[512]={0};
  pml4[0]=0x11000|3; pdpt[0]=0x12000|3; pd[0]=0x0|0x83; pd[1]=0x200000|0x83; pd[2]=0x200000|0x83; /* linear 0x400000 -> phys 0x200000 */
  uc_mem_write(uc,0x10000,pml4,4096); uc_mem_write(uc,0x11000,pdpt,4096); uc_mem_write(uc,0x12000,pd,4096);
  /* code at 0x1000: mov rax,[0x400010]; mov [0x400020],rbx; mov rcx,[0x200030]; nop; code at 0x201000 via 0x401000: nop;nop; hlt */
  unsigned char code[] = {
    0x48,0x8b,0x04,0x25,0x10,0x00,0x40,0x00,   /* mov rax,[0x400010] */
    0x48,0x89,0x1c,0x25,0x20,0x00,0x40,0x00,   /* mov [0x400020],rbx */
    0x48,0x8b,0x0c,0x25,0x30,0x00,0x20,0x00,   /* mov rcx,[0x200030] */
    0x48,0xff,0x04,0x25,0x40,0x00,0x40,0x00,   /* inc qword [0x400040] */
    0xe9,0xdb,0xff,0x3f,0x00 };               /* jmp 0x401000 (rel from 0x1025: 0x401000-0x1025=0x3fffdb) */
  uc_mem_write(uc,0x1000,code,sizeof code);
  unsigned char code2[]={0x90,0x90,0xf4}; uc_mem_write(uc,0x201000,code2,3);
  rw(CR3,0x10000); rw(CR4,0x20); rw(CR0,0x80000011);
  rw(RBX,0x1234);
  int e; if(getenv("FRESH")) goto hooks; e=uc_emu_start(uc,0x1000,0,0,0); printf("run 1 (no hooks): %s rip %lx rax %lx\n",uc_strerror(e),rr(RIP),rr(RAX));
  hooks:; uc_hook h1,h2,h3,h4,h5;
  e=uc_hook_add(uc,&h1,(1<<10)|(1<<11),(void*)memhook,"LIN[400000-400fff]",0x400000,0x400fff); printf("add lin: %s\n",uc_strerror(e));
  e=uc_hook_add(uc,&h2,(1<<10)|(1<<11),(void*)memhook,"PHYS[200000-200fff]",0x200000,0x200fff); printf("add phys: %s\n",uc_strerror(e));
  e=uc_hook_add(uc,&h3,(1<<12),(void*)memhook,"FETCH[200000-201fff]",0x200000,0x201fff); printf("add fetch: %s\n",uc_strerror(e));
  e=uc_hook_add(uc,&h4,4,(void*)codehook,"CODE[401000]",0x401000,0x401000); printf("add code lin: %s\n",uc_strerror(e));
  e=uc_hook_add(uc,&h5,4,(void*)codehook,"CODE[201000]",0x201000,0x201000); printf("add code phys: %s\n",uc_strerror(e));
  if(getenv("FLUSH")){ e=uc_ctl(uc,0x4000000B); printf("tlb flush %s\n",uc_strerror(e)); e=uc_ctl(uc,0x4000000A); printf("tb flush %s\n",uc_strerror(e)); }
  e=uc_emu_start(uc,0x1000,0,0,0); printf("run 2 (hooks added after translation): %s rip %lx\n",uc_strerror(e),rr(RIP));
  uc_hook h6; e=uc_hook_add(uc,&h6,2,(void*)codehook,"x",1,0,608); printf("RDTSC insn hook: %s\n",uc_strerror(e));
  e=uc_hook_add(uc,&h6,2,(void*)codehook,"x",1,0,609); printf("RDTSCP insn hook: %s\n",uc_strerror(e));
  return 0;
}
