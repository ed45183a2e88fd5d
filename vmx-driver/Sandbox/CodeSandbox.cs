// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver.Sandbox;

/// <summary>
/// Runs an event's condition or custom code (x86-64 machine code) in an engine of its own, isolated from the guest
/// and the agent, with HyperDbg's calling conventions (HyperDbg spec 3.2, 3.3):
/// condition <c>f(GUEST_REGS* rcx, context rdx)</c> with R8 = code address, true when RAX ≠ 0;
/// custom code <c>f(buffer rcx (0 without one), GUEST_REGS* rdx, context r8)</c> with R9 = code address.
/// GUEST_REGS is rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8 … r15 (8 bytes each); changes to it are returned so the
/// caller can write them back to the guest. Faults and runaway loops end the run with a report; nothing else is
/// affected. One sandbox runs one piece of code at a time.
/// </summary>
public sealed unsafe class CodeSandbox : IDisposable
{
    /// <summary>Largest code accepted.</summary>
    public const int MaxCodeSize = 64 * 1024;

    /// <summary>Largest buffer (the event's <c>buffer N</c>) accepted.</summary>
    public const int MaxBufferSize = 64 * 1024;

    /// <summary>Instructions a run may execute before it is stopped.</summary>
    public const long DefaultInstructionBudget = 1_000_000;

    /// <summary>Number of registers in GUEST_REGS.</summary>
    public const int GuestRegsCount = 16;

    private const ulong CodeBase = 0x10000;
    private const ulong RegsBase = 0x30000;
    private const ulong BufferBase = 0x40000;
    private const ulong StackBase = 0x60000;
    private const ulong StackSize = 0x10000;
    private const ulong ReturnAddress = 0x8000;
    private const ulong MemorySize = 0x80000;
    private const byte Hlt = 0xF4;
    private const ulong TimeoutMicroseconds = 2_000_000;

    private readonly UcEngine _engine;
    private readonly byte* _memory;
    private bool _disposed;

    public CodeSandbox()
    {
        _engine = UcEngine.Open(UcConst.Mode64);
        _memory = (byte*)NativeMemory.AlignedAlloc((nuint)MemorySize, 4096);
        new Span<byte>(_memory, (int)MemorySize).Clear();
        _memory[ReturnAddress] = Hlt;
        _engine.MapPointer(0, MemorySize, UcConst.ProtAll, _memory);
        RefuseDebugRegisterWrites();
    }

    /// <summary>
    /// Every MOV to DR0–DR7 is intercepted through the engine's SVM state (<see cref="InterceptFields"/>): with no
    /// interrupt hook the exit ends the run as an unhandled exception. Unicorn 2.1.1's own MOV to DR7 of an execute
    /// breakpoint flushes the translated code from inside the instruction and returns into zeroed code, which would kill
    /// the process (the guest's are performed by the model instead: <c>GuestDebugRegisters</c>).
    /// </summary>
    private void RefuseDebugRegisterWrites()
    {
        using UcContext context = UcContext.Allocate(_engine);
        context.Save(_engine);
        InterceptFields.Calibrated.Write(context.Bytes, new EngineIntercepts(Active: true, Instructions: 0, CrReads: 0, CrWrites: 0, DrReads: 0, DrWrites: 0xFF, Vmcb: 0, TscOffset: 0));
        context.Restore(_engine);
    }

    /// <summary>Runs a condition: true when it returns a non-zero RAX.</summary>
    public SandboxResult RunCondition(ReadOnlySpan<byte> code, Span<ulong> guestRegs, ulong context, long budget = DefaultInstructionBudget) =>
        Run(code, guestRegs, Span<byte>.Empty, context, isCondition: true, budget);

    /// <summary>Runs custom code with the event's buffer (may be empty: RCX = 0).</summary>
    public SandboxResult RunCode(ReadOnlySpan<byte> code, Span<ulong> guestRegs, Span<byte> buffer, ulong context, long budget = DefaultInstructionBudget) =>
        Run(code, guestRegs, buffer, context, isCondition: false, budget);

    private SandboxResult Run(ReadOnlySpan<byte> code, Span<ulong> guestRegs, Span<byte> buffer, ulong context, bool isCondition, long budget)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (code.IsEmpty || code.Length > MaxCodeSize)
        {
            throw new ArgumentException($"Code must be 1 to {MaxCodeSize} bytes, not {code.Length}.", nameof(code));
        }

        if (buffer.Length > MaxBufferSize)
        {
            throw new ArgumentException($"The buffer must be at most {MaxBufferSize} bytes, not {buffer.Length}.", nameof(buffer));
        }

        if (guestRegs.Length != GuestRegsCount)
        {
            throw new ArgumentException($"GUEST_REGS has {GuestRegsCount} registers.", nameof(guestRegs));
        }

        // Through the engine, so translations of the previous code are dropped.
        _engine.WriteMemory(CodeBase, code);
        _engine.WriteMemory(CodeBase + (ulong)code.Length, [Hlt]);
        _engine.RemoveTranslations(CodeBase, CodeBase + MaxCodeSize);
        MemoryMarshal.AsBytes(guestRegs).CopyTo(new Span<byte>(_memory + RegsBase, GuestRegsCount * 8));
        new Span<byte>(_memory + BufferBase, MaxBufferSize).Clear();
        buffer.CopyTo(new Span<byte>(_memory + BufferBase, buffer.Length));

        // A fresh register file: the code sees only what the convention gives it.
        foreach (int reg in (ReadOnlySpan<int>)[UcReg.Rax, UcReg.Rbx, UcReg.Rsi, UcReg.Rdi, UcReg.Rbp, UcReg.R10, UcReg.R11, UcReg.R12, UcReg.R13, UcReg.R14, UcReg.R15])
        {
            _engine.WriteRegister(reg, 0);
        }

        ulong rsp = StackBase + StackSize - 16;
        *(ulong*)(_memory + rsp) = ReturnAddress;
        _engine.WriteRegister(UcReg.Rsp, rsp);
        _engine.WriteRegister(UcReg.Rflags, 0x2);
        if (isCondition)
        {
            _engine.WriteRegister(UcReg.Rcx, RegsBase);
            _engine.WriteRegister(UcReg.Rdx, context);
            _engine.WriteRegister(UcReg.R8, CodeBase);
            _engine.WriteRegister(UcReg.R9, 0);
        }
        else
        {
            _engine.WriteRegister(UcReg.Rcx, buffer.IsEmpty ? 0 : BufferBase);
            _engine.WriteRegister(UcReg.Rdx, RegsBase);
            _engine.WriteRegister(UcReg.R8, context);
            _engine.WriteRegister(UcReg.R9, CodeBase);
        }

        int err = UcNative.uc_emu_start(_engine.Raw, CodeBase, ReturnAddress + 1, TimeoutMicroseconds, (nuint)budget);
        ulong rip = _engine.ReadRegister(UcReg.Rip);
        ulong rax = _engine.ReadRegister(UcReg.Rax);
        new Span<byte>(_memory + RegsBase, GuestRegsCount * 8).CopyTo(MemoryMarshal.AsBytes(guestRegs));
        new Span<byte>(_memory + BufferBase, buffer.Length).CopyTo(buffer);
        if (err != UcConst.ErrOk)
        {
            string what = rip - CodeBase + 1 < MaxCodeSize && _memory[rip] == 0x0F && _memory[rip + 1] == 0x23 ? "MOV to a debug register (refused in the sandbox)" : UcEngine.ErrorText(err);
            return new SandboxResult(false, rax, $"{what} at code offset 0x{rip - CodeBase:X}", budget);
        }

        if (rip != ReturnAddress + 1)
        {
            return new SandboxResult(false, rax, $"stopped after the budget of {budget:N0} instructions (a runaway loop?) at code offset 0x{rip - CodeBase:X}", budget);
        }

        return new SandboxResult(true, rax, null, 0);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _engine.Dispose();
        NativeMemory.AlignedFree(_memory);
    }
}
