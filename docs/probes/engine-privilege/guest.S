.intel_syntax noprefix
.code64
# at 0x1000: cpuid leaves listed at 0x3000 (pairs leaf,subleaf), results to 0x4000
.org 0
cpuid_probe:
  mov rsi, 0x3000
  mov rdi, 0x4000
1: mov eax, [rsi]
  cmp eax, 0xffffffff
  je 2f
  mov ecx, [rsi+4]
  cpuid
  mov [rdi], eax
  mov [rdi+4], ebx
  mov [rdi+8], ecx
  mov [rdi+12], edx
  add rsi, 8
  add rdi, 16
  jmp 1b
2: hlt
.org 0x100
# ring3 via iretq: frame prepared by C at rsp
iret_probe:
  iretq
.org 0x180
ring3_code:
  mov al, 0x33
  rdmsr            # at CPL3: #GP if really ring 3
  hlt
.org 0x200
sysret_probe:
  mov rcx, 0x1180   # target rip
  mov r11, 0x2
  sysretq
.org 0x280
callgate_from3:     # run at ring 3: far call through call gate sel 0x28|3
  call fword ptr [rip+gateptr]
  hlt
gateptr: .long 0
  .word 0x2b
.org 0x300
ring0_target:
  mov ecx, 0x10     # TSC: rdmsr at CPL0 is fine
  rdmsr
  mov ecx, 0xC0000080
  rdmsr
  hlt
.org 0x380
syscall_probe:
  syscall
  hlt
