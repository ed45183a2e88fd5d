# HyperDbgRemote demo guest: a tiny 64-bit "kernel" for the debugger to watch.
# Assembled by HyperDbgRemote.Assembler at load time (Intel syntax; '#' starts a comment).
#
# Core 0 (bootstrap processor):
#   - prints a banner to COM1 twice: once byte by byte with OUT, once with REP OUTSB,
#   - writes POST codes to port 0x80, programs the PIT (0x43/0x40), reads the RAM size from CMOS (0x70/0x71),
#   - builds two address spaces (own CR3 each),
#   - then runs two processes, "shell" (pid 1) and "logger" (pid 2), in turns: each switches to its CR3, prints a line
#     to COM1 and writes its POST code to 0x80.
# Core 1 (application processor) runs "worker" (pid 3): an IN/OUT loop on CMOS and port 0x80.
# Both cores increment `shared_counter` under a spinlock (lock cmpxchg).
# The guest runs until `stop_request` becomes non-zero (a debugger writes it), then writes the debug-exit port 0x501.

COM1        equ 0x3F8
POST        equ 0x80
DEBUG_EXIT  equ 0x501
USER_VA     equ 0x40000000
TABLES_A    equ 0x300000          # PML4, PDPT, PD of process "shell"
TABLES_B    equ 0x304000          # PML4, PDPT, PD of process "logger"
USER_A_PA   equ 0x800000          # the 2 MiB page behind USER_VA for "shell"
USER_B_PA   equ 0xA00000          # ... and for "logger"
PAGE_RW     equ 3                 # present | writable
LARGE_RW    equ 0x83              # present | writable | 2 MiB page
DELAY       equ 3000000           # busy-wait iterations between ticks

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

    # --- address spaces: PML4[0] -> own PDPT; PDPT[0] -> the identity PD; PDPT[1] -> own PD mapping USER_VA
    mov rax, [kernel_cr3]
    mov rbx, [rax]
    and rbx, 0xFFFFFFFFFFFFF000
    mov rcx, [rbx]                # PDPT[0] of the identity map
    mov rdi, TABLES_A
    mov r8, USER_A_PA
    call build_space
    mov rdi, TABLES_B
    mov r8, USER_B_PA
    call build_space

    mov al, 0x13
    out POST, al

scheduler:
    cmp qword [stop_request], 0
    jne shutdown
    mov rax, TABLES_A
    mov rbx, 1
    mov r12, 0xA1
    lea r13, [name_shell]
    call run_process
    mov rax, TABLES_B
    mov rbx, 2
    mov r12, 0xB2
    lea r13, [name_logger]
    call run_process
    call bump_counter
    jmp scheduler

shutdown:
    mov rax, [kernel_cr3]
    mov cr3, rax
    mov qword [current_pid], 0
    mov dx, DEBUG_EXIT
    mov al, 0
    out dx, al
    hlt
    jmp shutdown

# run_process: rax = CR3, rbx = pid, r12 = POST code, r13 = name. Prints "<name> tick <n>\r\n".
run_process:
    mov cr3, rax
    mov [current_pid], rbx
    mov rax, r12
    out POST, al
    mov dx, COM1
    mov rsi, r13
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
    mov rcx, DELAY
delay:
    dec rcx
    jnz delay
    mov rax, [kernel_cr3]
    mov cr3, rax
    mov qword [current_pid], 0
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

# build_space: rdi = 3 zeroed pages (PML4, PDPT, PD), rcx = identity PDPT[0], r8 = physical page for USER_VA.
build_space:
    lea rax, [rdi + 0x1000]
    or rax, PAGE_RW
    mov [rdi], rax
    mov [rdi + 0x1000], rcx
    lea rax, [rdi + 0x2000]
    or rax, PAGE_RW
    mov [rdi + 0x1008], rax
    mov rax, r8
    or rax, LARGE_RW
    mov [rdi + 0x2000], rax
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
tick_text:
    db " tick "
tick_text_end:
    align 8
kernel_cr3:
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
