#include "uc.h"
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
enum { CS=11, SS=49, RAX=35, RBX=37, RCX=38, RDX=40, RIP=41, RSP=44, RFLAGS=253, R11=109, EAX=19,EBX=21,ECX=22,EDX=24, CR0=50, CR3=53, CR4=54, GDTR=243, IDTR=242, TR=245, MSR=248 };
static uc_engine *uc; static unsigned char code[4096]; static size_t codelen;
static uint64_t rr(int r){uint64_t v=0; uc_reg_read(uc,r,&v); return v;}
static void rw(int r,uint64_t v){int e=uc_reg_write(uc,r,&v); if(e) printf("  reg_write %d: %s\n",r,uc_strerror(e));}
static uint64_t rdmsr(uint32_t m){uc_x86_msr x={m,0}; int e=uc_reg_read(uc,MSR,&x); if(e) printf("rdmsr err %s\n",uc_strerror(e)); return x.value;}
static void wrmsr(uint32_t m,uint64_t v){uc_x86_msr x={m,v}; uc_reg_write(uc,MSR,&x);}
static void intr(uc_engine *u, uint32_t v, void *d){ printf("  INTR vector %u (0x%x) rip=%lx cs=%lx rsp=%lx\n", v, v, rr(RIP), rr(CS), rr(RSP)); uc_emu_stop(u);}
static int cpuidhits; static int cpuid_hook(uc_engine *u, void *d){ cpuidhits++; uint64_t a=rr(RAX); if (a==0x40000000){ rw(RAX,0x40000001); rw(RBX,0x11111111); rw(RCX,0x22222222); rw(RDX,0x33333333); return 1;} return 0;}
static void syscall_hook(uc_engine *u, void *d){ printf("  SYSCALL hook rip=%lx rcx=%lx cs=%lx\n", rr(RIP), rr(RCX), rr(CS)); }
static void open_engine(int mode){
  uc_open(4, mode, &uc); uc_mem_map(uc,0,0x200000,7);
  uc_mem_write(uc,0x1000,code,codelen);
  uc_hook h; uc_hook_add(uc,&h,1,(void*)intr,0,1,0);
}
static void gdt(void){
  uint64_t g[10]={0,0x00AF9A000000FFFFull,0x00CF92000000FFFFull,0x00CFF2000000FFFFull,0x00AFFA000000FFFFull,0,0,0,0,0};
  uint64_t t=0x1300; g[5]=(t&0xffff)|(0x08ull<<16)|(0xECull<<40)|(((t>>16)&0xffff)<<48); g[6]=t>>32;
  uint64_t b=0x6000; g[7]=0x67|((b&0xffffff)<<16)|(0x89ull<<40)|((b>>24)<<56); g[8]=b>>32;
  uc_mem_write(uc,0x5000,g,sizeof g);
  uint64_t tss[13]={0}; tss[0]=0x9000ull<<32; /* rsp0 at offset 4 */ uc_mem_write(uc,0x6000,tss,104);
  uc_x86_mmr m={0,0x5000,0x4f,0}; uc_reg_write(uc,GDTR,&m);
  uc_x86_mmr tr={0x38,0x6000,0x67,0x8900}; int e=uc_reg_write(uc,TR,&tr); if(e) printf("TR write %s\n",uc_strerror(e));
}
int main(int argc,char**argv){
  FILE*f=fopen("guest.bin","rb"); codelen=fread(code,1,4096,f); fclose(f);
  uint32_t leaves[][2]={{0,0},{1,0},{2,0},{4,0},{6,0},{7,0},{0xa,0},{0xb,0},{0xd,0},{0xd,1},{0x40000000,0},{0x80000000,0},{0x80000001,0},{0x80000002,0},{0x80000003,0},{0x80000004,0},{0x80000005,0},{0x80000006,0},{0x80000007,0},{0x80000008,0},{0x8000000a,0},{0xffffffff,0}};
  for (int mode=8; mode>=2; mode/=2){ if(mode==4) continue;
    open_engine(mode); printf("== native CPUID, mode %d\n", mode);
    if (mode==2){ /* 16-bit engine: run the 64-bit code? no: just use hook-free cpuid through 32-bit code not possible; skip */ }
    uc_mem_write(uc,0x3000,leaves,sizeof leaves);
    if (mode==8){ int e=uc_emu_start(uc,0x1000,0,0,0); printf(" run: %s\n",uc_strerror(e));
      uint32_t out[4*22]; uc_mem_read(uc,0x4000,out,sizeof out);
      for(int i=0;leaves[i][0]!=0xffffffff;i++) printf(" leaf %08x.%u: %08x %08x %08x %08x\n",leaves[i][0],leaves[i][1],out[4*i],out[4*i+1],out[4*i+2],out[4*i+3]);
      /* hook */
      uc_hook h; int e2=uc_hook_add(uc,&h,2,(void*)cpuid_hook,0,1,0,113); printf("== CPUID insn hook add: %s\n",uc_strerror(e2));
      e=uc_emu_start(uc,0x1000,0,0,0); uc_mem_read(uc,0x4000,out,sizeof out);
      printf(" hook calls %d; leaf 0 after hook (not skipped): %08x; 0x40000000 skipped+written: %08x %08x %08x %08x rip after=%lx\n",cpuidhits,out[0],out[40],out[41],out[42],out[43], rr(RIP));
      int e3=uc_hook_add(uc,&h,2,(void*)cpuid_hook,0,1,0,604); printf("== RDMSR insn hook add: %s\n",uc_strerror(e3));
      e3=uc_hook_add(uc,&h,2,(void*)cpuid_hook,0,1,0,1305); printf("== WRMSR insn hook add: %s\n",uc_strerror(e3));
      e3=uc_hook_add(uc,&h,2,(void*)cpuid_hook,0,1,0,702); printf("== SYSRET insn hook add: %s\n",uc_strerror(e3));
    }
  }
  /* MSRs */
  open_engine(8);
  printf("== MSR write/readback (write pattern, read)\n");
  uint32_t msrs[]={0x10,0x1b,0x3a,0x48,0x8b,0xfe,0x174,0x175,0x176,0x179,0x17a,0x17b,0x1a0,0x1d9,0x200,0x201,0x250,0x277,0x2ff,0x400,0x401,0x480,0x6e0,0x802,0xC0000080,0xC0000081,0xC0000082,0xC0000083,0xC0000084,0xC0000100,0xC0000101,0xC0000102,0xC0000103,0xC0010117,0x12345678,0x40000000,0xe8,0xe7,0x3b,0x9b,0x1d9,0x345};
  for (unsigned i=0;i<sizeof msrs/4;i++){ uint64_t before=rdmsr(msrs[i]); uint64_t pat = msrs[i]==0xC0000080? 0xD01 : msrs[i]==0x277 ? 0x0007040600070406ull : 0x1000; wrmsr(msrs[i],pat); printf(" msr %08x: before %lx, wrote %lx, read %lx\n", msrs[i], before, pat, rdmsr(msrs[i])); }
  /* privilege */
  printf("== IRETQ to ring 3 (native?)\n");
  open_engine(8); gdt();
  uint64_t frame[5]={0x1180,0x23,0x2,0x8000,0x1b}; uc_mem_write(uc,0x7000,frame,40); rw(RSP,0x7000);
  int e=uc_emu_start(uc,0x1100,0,0,0); printf(" run: %s; cs=%lx ss=%lx rip=%lx\n",uc_strerror(e),rr(CS),rr(SS),rr(RIP));
  printf("== SYSRETQ to ring 3 (native?)\n");
  open_engine(8); gdt(); wrmsr(0xC0000080, rdmsr(0xC0000080)|1); wrmsr(0xC0000081, (0x10ull<<48)|(0x08ull<<32));
  e=uc_emu_start(uc,0x1200,0,0,0); printf(" run: %s; cs=%lx ss=%lx rip=%lx\n",uc_strerror(e),rr(CS),rr(SS),rr(RIP));
  printf("== ring 3 -> call gate -> ring 0 (native?)\n");
  open_engine(8); gdt(); rw(RSP,0x7000); uc_mem_write(uc,0x7000,(uint64_t[]){0x1280,0x23,0x2,0x8000,0x1b},40);
  e=uc_emu_start(uc,0x1100,0x1285,0,0); /* iretq to 0x1280 at ring3, then call gate */
  printf(" run: %s; cs=%lx ss=%lx rip=%lx rsp=%lx\n",uc_strerror(e),rr(CS),rr(SS),rr(RIP),rr(RSP));
  uint64_t st[4]; uc_mem_read(uc,0x9000-32,st,32); printf(" ring0 stack: %lx %lx %lx %lx\n",st[0],st[1],st[2],st[3]);
  printf("== ring 3: SYSCALL with hook\n");
  open_engine(8); gdt(); { uc_hook h; uc_hook_add(uc,&h,2,(void*)syscall_hook,0,1,0,699);} wrmsr(0xC0000080, rdmsr(0xC0000080)|1);
  rw(RSP,0x7000); uc_mem_write(uc,0x7000,(uint64_t[]){0x1380,0x23,0x2,0x8000,0x1b},40);
  e=uc_emu_start(uc,0x1100,0,0,0); printf(" run: %s; cs=%lx rip=%lx\n",uc_strerror(e),rr(CS),rr(RIP));
  printf("== ring 3: write CS/SS via API, then rdmsr\n");
  open_engine(8); gdt(); rw(RSP,0x7000); uc_mem_write(uc,0x7000,(uint64_t[]){0x1182,0x23,0x2,0x8000,0x1b},40);
  e=uc_emu_start(uc,0x1100,0x1182,0,0); printf(" at ring3 (stopped at until): %s cs=%lx rip=%lx\n",uc_strerror(e),rr(CS),rr(RIP));
  rw(CS,0x08); rw(SS,0x10); e=uc_emu_start(uc,0x1182,0,0,0); printf(" after writing CS=08 SS=10: %s cs=%lx rip=%lx\n",uc_strerror(e),rr(CS),rr(RIP));
  return 0;
}
