# HyperDbgRemote demo guest: a tiny 64-bit "kernel" with two ring-3 processes for the debugger to watch.
# Assembled by HyperDbgRemote.Assembler at load time (Intel syntax; '#' starts a comment).
#
# Core 0 (bootstrap processor):
#   - prints a banner to COM1 twice: once byte by byte with OUT, once with REP OUTSB,
#   - writes POST codes to port 0x80, programs the PIT (0x43/0x40), reads the RAM size from CMOS (0x70/0x71),
#   - loads its own GDT (kernel and user segments, a TSS with RSP0), enables SYSCALL (EFER.SCE, STAR, LSTAR, FMASK),
#   - builds two address spaces (own CR3 each) that map USER_VA, user-accessible, to different physical pages: each
#     holds a copy of the user program and, at USER_VA + 0x1000, the process's name,
#   - programs the 8259 (IRQ 0, the PIT, at vector 0x20, every other IRQ masked) and loads an IDT whose vector 0x20
#     is an interrupt gate to timer_entry,
#   - then runs the processes "shell" (pid 1) and "logger" (pid 2) in ring 3 with interrupts enabled, switching them
#     preemptively on the PIT's interrupt: the interrupt arrives in ring 3, the CPU switches to the current process's
#     kernel stack (the TSS's RSP0) and pushes the user's frame, timer_entry saves the registers there, switches CR3,
#     RSP0 and the kernel stack to the other process and returns to its ring 3 with IRETQ. A process asks the kernel
#     with SYSCALL to print "<name> tick <n>" to COM1, then spins in ring 3 without system calls until it has been
#     switched out and back in.
# Core 1 (application processor) runs "worker" (pid 3) in an address space of its own: an IN/OUT loop on CMOS and
# port 0x80, in ring 0 (a kernel process) with interrupts off.
# Both cores increment `shared_counter` under a spinlock (lock cmpxchg).
# `process_table` lists the processes by CR3; DemoGuestOsProfile reads it to tell the debugger who runs on a core.
# The guest runs until `stop_request` becomes non-zero (a debugger writes it); the next timer switch on core 0 then
# writes the debug-exit port 0x501.

COM1        equ 0x3F8
POST        equ 0x80
DEBUG_EXIT  equ 0x501
USER_VA     equ 0x40000000
USER_NAME   equ 0x1000            # offset of the process's name in its user page
USER_RUNS   equ 0x1010            # offset of the process's own count of its lines (written in ring 3)
USER_TURN   equ 0x1018            # offset of the count of the process's turns (written by the kernel at each switch)
USER_STACK  equ USER_VA + 0x1FF000    # 4 KiB below the page's end, as a real stack has its first frames above RSP
TABLES_A    equ 0x300000          # PML4, PDPT, PD of process "shell"
TABLES_B    equ 0x304000          # PML4, PDPT, PD of process "logger"
TABLES_C    equ 0x308000          # PML4, PDPT, PD of process "worker"
IDT_BASE    equ 0x30C000          # the IDT: 0x30 gates of 16 bytes (exceptions: not present, so a fault is a triple fault)
IDT_GATES   equ 0x30
KSTACK_A    equ 0x314000          # top of shell's kernel stack (the TSS's RSP0 while shell runs)
KSTACK_B    equ 0x318000          # top of logger's kernel stack
USER_A_PA   equ 0x800000          # the 2 MiB page behind USER_VA for "shell"
USER_B_PA   equ 0xA00000          # ... for "logger"
USER_C_PA   equ 0xC00000          # ... for "worker"
USER_TABLE  equ 7                 # present | writable | user
USER_LARGE  equ 0x87              # present | writable | user | 2 MiB page
DELAY       equ 3000000           # busy-wait iterations of the worker (core 1) between its loops
TSS_SEL     equ 0x30
MSR_EFER    equ 0xC0000080
MSR_STAR    equ 0xC0000081
MSR_LSTAR   equ 0xC0000082
MSR_FMASK   equ 0xC0000084
SYS_TICK    equ 1                 # the SYSCALL (RAX): print "<name at RSI> tick <n>\r\n" to COM1
USER_RFLAGS equ 0x202             # ring 3 runs with IF set: the PIT's interrupt preempts it
USER_CS     equ 0x2B
USER_SS     equ 0x23
TIMER_VECTOR equ 0x20
MAX_TURN_TICKS equ 8              # a process that has not printed its line yet keeps the core for at most 8 ticks
PIC1_CMD    equ 0x20
PIC1_DATA   equ 0x21
PIC2_CMD    equ 0xA0
PIC2_DATA   equ 0xA1
FRAME_QWORDS equ 20               # what timer_entry leaves on a kernel stack: 15 registers and the interrupt frame

start:
    mov rax, cr3
    mov [kernel_cr3], rax
    mov qword [current_pid], 0

    # --- banner, byte by byte with OUT
    mov dx, COM1
    lea rsi, [banner]
banner_loop:
    mov al, [rsi]
    test al, al
    jz banner_done
    out dx, al
    inc rsi
    jmp banner_loop
banner_done:
    mov al, 0x10
    out POST, al

    # --- the same banner with REP OUTSB
    lea rsi, [banner]
    mov rcx, banner_end - banner - 1
    cld
    rep outsb
    mov al, 0x11
    out POST, al

    # --- PIT channel 0: mode 2, reload 0x2E9C (about 100 Hz)
    mov al, 0x34
    out 0x43, al
    mov al, 0x9C
    out 0x40, al
    mov al, 0x2E
    out 0x40, al

    # --- RAM above 16 MiB from CMOS 0x34/0x35 (64 KiB units)
    mov al, 0x35
    out 0x70, al
    in al, 0x71
    movzx ebx, al
    shl ebx, 8
    mov al, 0x34
    out 0x70, al
    in al, 0x71
    or bl, al
    mov [ram_above_16m], rbx
    mov al, 0x12
    out POST, al

    # --- rings: our GDT (user segments, a TSS whose RSP0 is a stack of its own), the SYSCALL MSRs
    lgdt [gdtr]
    mov ax, TSS_SEL
    ltr ax
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1                     # SCE
    wrmsr
    mov ecx, MSR_STAR             # SYSCALL: CS 08h, SS 10h; SYSRETQ: CS 18h + 16 | 3 = 2Bh, SS 18h + 8 | 3 = 23h
    xor eax, eax
    mov edx, 0x00180008
    wrmsr
    mov ecx, MSR_LSTAR
    lea rax, [syscall_entry]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, MSR_FMASK            # cleared on entry: TF, IF, DF, AC
    mov eax, 0x47700
    xor edx, edx
    wrmsr

    # --- address spaces: PML4[0] -> own PDPT; PDPT[0] -> the kernel's identity PD (supervisor); PDPT[1] -> own PD
    #     mapping USER_VA (user) to the process's page; each ring-3 process's kernel stack holds the frame that first
    #     enters it
    lea r15, [proc_shell]
    call build_space
    call build_first_frame
    lea r15, [proc_logger]
    call build_space
    call build_first_frame

    mov al, 0x13
    out POST, al

    # --- the 8259 pair: edge-triggered, master at vectors 0x20-0x27, slave at 0x28-0x2F on IRQ 2; only IRQ 0 (the
    #     PIT) unmasked
    mov al, 0x11
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, TIMER_VECTOR
    out PIC1_DATA, al
    mov al, TIMER_VECTOR + 8
    out PIC2_DATA, al
    mov al, 4
    out PIC1_DATA, al
    mov al, 2
    out PIC2_DATA, al
    mov al, 1
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0xFE
    out PIC1_DATA, al
    mov al, 0xFF
    out PIC2_DATA, al

    # --- the IDT: every gate not present but the timer's (0x20) and the master's spurious IRQ 7 (0x27)
    mov rdi, IDT_BASE
    mov rcx, IDT_GATES * 2
    xor eax, eax
    cld
    rep stosq
    mov rdi, IDT_BASE + TIMER_VECTOR * 16
    lea rax, [timer_entry]
    call set_gate
    mov rdi, IDT_BASE + (TIMER_VECTOR + 7) * 16
    lea rax, [spurious_entry]
    call set_gate
    lidt [idtr]

    mov al, 0x14
    out POST, al

    # --- the first process: shell, through the frame build_first_frame left on its kernel stack
scheduler:
    lea r15, [proc_shell]
    jmp switch_to

shutdown:
    mov rax, [kernel_cr3]
    mov cr3, rax
    mov qword [current_pid], 0
    mov dx, DEBUG_EXIT
    mov al, 0
    out dx, al
    hlt
    jmp shutdown

# timer_entry (IDT vector 0x20, IRQ 0): taken in ring 3 (the kernel runs with IF clear), so the CPU has switched to the
# TSS's RSP0 (the current process's kernel stack) and pushed the user's SS, RSP, RFLAGS, CS and RIP. Saves every
# register on that stack and, once the process has printed its line this turn (or after MAX_TURN_TICKS ticks),
# switches to the other process.
timer_entry:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov al, 0x20                  # non-specific EOI
    out PIC1_CMD, al
    inc qword [timer_ticks]
    inc qword [turn_ticks]
    cmp qword [turn_printed], 0
    jne preempt
    cmp qword [turn_ticks], MAX_TURN_TICKS
    jb resume
preempt:
    mov r15, [current_proc]
    mov [r15 + 0x28], rsp         # where its registers and interrupt frame are
    cmp qword [stop_request], 0
    jne shutdown
    lea r14, [proc_logger]        # the other process
    cmp r15, r14
    jne switch_next
    call bump_counter             # a round (shell, then logger) is over
    lea r14, [proc_shell]
switch_next:
    mov r15, r14

# switch_to: r15 = a process_table entry. Loads its address space, its kernel stack (and the TSS's RSP0) and returns
# to where it stopped in ring 3, through the registers and interrupt frame on its kernel stack.
switch_to:
    mov [current_proc], r15
    mov rax, [r15]
    mov cr3, rax
    mov rbx, [r15 + 8]
    mov [current_pid], rbx
    mov rax, [r15 + 0x18]
    out POST, al
    mov rax, [r15 + 0x30]
    lea rbx, [tss]
    mov [rbx + 4], rax            # RSP0
    mov rdi, [r15 + 0x20]
    inc qword [rdi + USER_TURN]   # through the kernel's identity map of the process's page
    mov qword [turn_printed], 0
    mov qword [turn_ticks], 0
    mov rsp, [r15 + 0x28]
resume:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
timer_return:
    iretq

# spurious_entry (vector 0x27): a spurious IRQ 7 is not acknowledged (the 8259 set no ISR bit for it).
spurious_entry:
    iretq

# set_gate: rdi = a 16-byte IDT gate, rax = its handler: a present 64-bit interrupt gate, DPL 0, kernel code 08h.
set_gate:
    mov [rdi], ax
    mov word [rdi + 2], 0x08
    mov word [rdi + 4], 0x8E00
    shr rax, 16
    mov [rdi + 6], ax
    shr rax, 16
    mov [rdi + 8], eax
    mov dword [rdi + 12], 0
    ret

# syscall_entry (LSTAR): rax = the call, rcx = the user's RIP, r11 its RFLAGS; the process's CR3 stays loaded (it is
# still the current process). Runs on the process's kernel stack (the TSS's RSP0) with interrupts off (FMASK).
syscall_entry:
    mov [user_rsp], rsp
    lea rsp, [tss]
    mov rsp, [rsp + 4]
    push rcx
    push r11
    call sys_call
    pop r11
    pop rcx
    mov rsp, [user_rsp]
    sysretq

# sys_call: rax = the call. SYS_TICK (RSI = the name, in the user page) prints "<name> tick <n>\r\n" to COM1 and
# returns 0; unknown calls, and names outside the user page, return -1.
sys_call:
    cmp rax, SYS_TICK
    mov rax, -1
    jne sys_call_done
    mov rbx, rsi
    mov rcx, USER_VA
    sub rbx, rcx
    cmp rbx, 0x1FF000
    jae sys_call_done
    mov dx, COM1
print_name:
    mov al, [rsi]
    test al, al
    jz name_done
    out dx, al
    inc rsi
    jmp print_name
name_done:
    lea rsi, [tick_text]
    mov rcx, tick_text_end - tick_text
    rep outsb
    inc qword [ticks]
    mov rax, [ticks]
    call print_hex16
    mov al, 13
    out dx, al
    mov al, 10
    out dx, al
    mov qword [turn_printed], 1
    xor eax, eax
sys_call_done:
    ret

# print_hex16: prints the low 16 bits of rax as 4 hex digits to port dx.
print_hex16:
    mov rbx, rax
    mov rcx, 4
hex_loop:
    rol bx, 4
    mov al, bl
    and al, 0x0F
    cmp al, 10
    jb hex_digit
    add al, 'a' - 10 - '0'
hex_digit:
    add al, '0'
    out dx, al
    dec rcx
    jnz hex_loop
    ret

# build_space: r15 = a process_table entry. Builds its tables (3 zeroed pages at its CR3) from this core's
# identity map and fills its user page: the user program at its start, the process's name at USER_NAME.
build_space:
    mov rax, cr3
    mov rbx, [rax]
    and rbx, 0xFFFFFFFFFFFFF000
    mov rcx, [rbx]                # PDPT[0] of the identity map
    mov rdi, [r15]
    lea rax, [rdi + 0x1000]
    or rax, USER_TABLE
    mov [rdi], rax
    mov [rdi + 0x1000], rcx
    lea rax, [rdi + 0x2000]
    or rax, USER_TABLE
    mov [rdi + 0x1008], rax
    mov rax, [r15 + 0x20]
    or rax, USER_LARGE
    mov [rdi + 0x2000], rax
    mov rdi, [r15 + 0x20]
    lea rsi, [user_program]
    mov rcx, user_program_end - user_program
    cld
    rep movsb
    mov rdi, [r15 + 0x20]
    add rdi, USER_NAME
    mov rsi, [r15 + 0x10]
    call copy_string
    ret

# build_first_frame: r15 = a ring-3 process's process_table entry. Leaves on its kernel stack what timer_entry leaves
# there: 15 zeroed registers and an interrupt frame that enters the user program at USER_VA in ring 3 with IF set.
build_first_frame:
    mov rdi, [r15 + 0x30]
    sub rdi, FRAME_QWORDS * 8
    mov [r15 + 0x28], rdi
    mov rcx, 15
    xor eax, eax
    cld
    rep stosq
    mov qword [rdi], USER_VA      # RIP
    mov qword [rdi + 8], USER_CS
    mov qword [rdi + 16], USER_RFLAGS
    mov rax, USER_STACK
    mov [rdi + 24], rax           # RSP
    mov qword [rdi + 32], USER_SS
    ret

# copy_string: copies the NUL-terminated string at rsi to rdi (including the NUL).
copy_string:
    mov al, [rsi]
    mov [rdi], al
    inc rsi
    inc rdi
    test al, al
    jnz copy_string
    ret

# bump_counter: shared_counter += 1 under the spinlock (both cores call it).
bump_counter:
    mov eax, 0
    mov ecx, 1
    lock cmpxchg [spinlock], ecx
    jz locked
    pause
    jmp bump_counter
locked:
    mov rax, [shared_counter]
    inc rax
    mov [shared_counter], rax
    mov dword [spinlock], 0
    ret

# --- core 1: "worker" (pid 3), an IN/OUT loop
ap_start:
    lea r15, [proc_worker]
    call build_space
    mov rax, [r15]
    mov cr3, rax
    mov qword [current_pid + 8], 3
ap_loop:
    cmp qword [stop_request], 0
    jne ap_stop
    mov al, 0
    out 0x70, al
    in al, 0x71
    mov [worker_seconds], al
    mov al, 0xC3
    out POST, al
    call bump_counter
    inc qword [worker_loops]
    mov rcx, DELAY
ap_delay:
    dec rcx
    jnz ap_delay
    jmp ap_loop
ap_stop:
    hlt
    jmp ap_stop

# --- the user program: copied into every process's page, runs there at USER_VA in ring 3 (position independent).
#     It prints its line, then spins without a system call until the kernel has run it again after a switch.
user_program:
    mov eax, SYS_TICK
    mov rsi, USER_VA + USER_NAME
    syscall
    mov rbx, USER_VA + USER_RUNS
    inc qword [rbx]
    mov rbx, USER_VA + USER_TURN
    mov rdx, [rbx]
user_spin:
    cmp [rbx], rdx
    je user_spin
    jmp user_program
user_program_end:

# --- kernel exports (a debugger resolves nt_NAME as nt!NAME); the demo's allocator has nothing to give
nt_ExAllocatePoolWithTag:
    xor eax, eax
    ret

# --- data
banner:
    db "HyperDbgRemote demo guest 1.0", 13, 10, 0
banner_end:
name_shell:
    db "shell", 0
name_logger:
    db "logger", 0
name_worker:
    db "worker", 0
tick_text:
    db " tick "
tick_text_end:
    align 8
kernel_cr3:
    dq 0
current_proc:
    dq 0
user_rsp:
    dq 0
timer_ticks:
    dq 0
turn_ticks:
    dq 0
turn_printed:
    dq 0
current_pid:
    dq 0, 0
ticks:
    dq 0
stop_request:
    dq 0
spinlock:
    dq 0
shared_counter:
    dq 0
worker_loops:
    dq 0
ram_above_16m:
    dq 0
worker_seconds:
    dq 0

# --- the processes, found by CR3 (DemoGuestOsProfile reads this layout): 0x40 bytes each: CR3, pid, name, POST
#     code, user page, saved kernel RSP (its registers and interrupt frame while it is switched out), kernel stack
#     top, reserved; a CR3 of 0 ends the table
process_table:
proc_shell:
    dq TABLES_A, 1, name_shell, 0xA1, USER_A_PA, 0, KSTACK_A, 0
proc_logger:
    dq TABLES_B, 2, name_logger, 0xB2, USER_B_PA, 0, KSTACK_B, 0
proc_worker:
    dq TABLES_C, 3, name_worker, 0xC3, USER_C_PA, 0, 0, 0
    dq 0

# --- descriptors: null, kernel code 08h, kernel data 10h, user code 18h (32-bit, SYSRET's STAR base), user data 20h,
#     user code 28h (64-bit), the TSS 30h (16 bytes; the demo lies below 16 MiB, so base[63:24] is 0)
gdt:
    dq 0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF, 0x00CFFA000000FFFF, 0x00CFF2000000FFFF, 0x00AFFA000000FFFF
    dq 0x0000890000000067 | ((tss & 0xFFFFFF) << 16), 0
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dq gdt
idtr:
    dw IDT_GATES * 16 - 1
    dq IDT_BASE
    align 8
# the 64-bit TSS (104 bytes): RSP0 (the current process's kernel stack, set at each switch), no IST, no I/O
# permission bitmap (its base is the limit)
tss:
    dd 0
    dq KSTACK_A, 0, 0, 0
    dq 0, 0, 0, 0, 0, 0, 0, 0
    dw 0, 104
