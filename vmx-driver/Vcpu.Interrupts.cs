// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver;

/// <content>
/// Interrupt and exception delivery, which the CPU engine leaves to us: real mode through the IVT, 64-bit mode through
/// IDT interrupt and trap gates at the current privilege level (SDM Vol. 3A, "Interrupt and Exception Handling"). A
/// vector that cannot be delivered stops the VM with a triple-fault report naming the core, RIP and vector.
/// </content>
public sealed partial class Vcpu
{
    private const ulong FlagTf = 1UL << 8;
    private const ulong FlagIf = 1UL << 9;
    private const ulong FlagNt = 1UL << 14;
    private const ulong FlagRf = 1UL << 16;
    private const ulong FlagAc = 1UL << 18;
    private const int GateSize64 = 16;
    private const byte GatePresent = 0x80;
    private const byte GateTypeInterrupt64 = 0xE;
    private const byte GateTypeTrap64 = 0xF;

    /// <summary>Vectors whose exceptions push an error code (SDM Vol. 3A, table "Protected-Mode Exceptions and Interrupts").</summary>
    private static bool HasErrorCode(int vector) => vector is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21;

    /// <summary>Interrupts delivered so far, by vector (diagnostics and tests).</summary>
    public long InterruptsDelivered => Interlocked.Read(ref _interrupts);

    private long _interrupts;

    // An event to inject (VMX's VM-entry interruption information): the vector, or -1; its error code if any.
    /// <summary>The injected event waiting for delivery: vector and error code swapped in and out as one, so a refused
    /// second injection never changes the pending one.</summary>
    private PendingInjection? _pending;

    private sealed record PendingInjection(int Vector, uint? ErrorCode);

    /// <summary>
    /// Queues an interrupt or exception for this core, delivered through the guest's IVT or IDT at the next block
    /// boundary (before any instruction of that block runs), or at once when the core stops at HLT, as a VMM injects
    /// an event at VM entry. From an exit handler, the rest of the exiting instruction's basic block runs first (the
    /// engine cannot leave a block precisely after an I/O hook). A core already idle in HLT is not woken by it.
    /// False when one is already pending or the vector is not 0–255.
    /// </summary>
    public bool TryInject(int vector, uint? errorCode = null)
    {
        if (vector is < 0 or > 255)
        {
            return false;
        }

        if (Interlocked.CompareExchange(ref _pending, new PendingInjection(vector, errorCode), null) is not null)
        {
            return false;
        }

        RaiseAttention();
        _vm.Wake(this);
        return true;
    }

    /// <summary>An injected event waits for delivery.</summary>
    internal bool HasPendingInjection => Volatile.Read(ref _pending) is not null;

    /// <summary>At a block boundary (in the block hook): delivers a pending injected event. Writing RIP there makes the
    /// engine abandon the block before any of its instructions ran.</summary>
    internal void DeliverPendingInjection(ulong blockAddress)
    {
        if (Interlocked.Exchange(ref _pending, null) is not PendingInjection pending)
        {
            return;
        }

        (int vector, uint? errorCode) = (pending.Vector, pending.ErrorCode);

        ulong rip = blockAddress - SegmentBase(GuestRegister.Cs);
        if (ReadRegister(GuestRegister.Rip) != rip)
        {
            WriteRegister(GuestRegister.Rip, rip);
        }

        DeliverInterrupt(vector, errorCode);
    }

    /// <summary>
    /// Delivers an exception or software interrupt the engine raised (UC_HOOK_INTR), then clears the engine's record of
    /// it (<see cref="OldExceptionField"/>): the engine left the delivery to us, and would otherwise turn the guest's next
    /// fault into a double fault.
    /// </summary>
    private void DeliverException(int vector)
    {
        DeliverInterrupt(vector);
        if (_fault is null)
        {
            _oldException.Reset(_engine, _context);
        }
    }

    private void DeliverInterrupt(int vector, uint? errorCode = null)
    {
        bool delivered = Is64Bit
            ? DeliverLongMode(vector, errorCode, out string? why)
            : (ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0
                ? DeliverRealMode(vector, out why)
                : Refuse("interrupt delivery in 16/32-bit protected mode is not supported", out why);
        if (delivered)
        {
            Interlocked.Increment(ref _interrupts);
            return;
        }

        Fail($"core {Index}: triple fault: vector {vector} (0x{vector:X2}) at RIP 0x{ReadRegister(GuestRegister.Rip):X} could not be delivered: {why}");
    }

    private static bool Refuse(string reason, out string? why)
    {
        why = reason;
        return false;
    }

    private bool DeliverRealMode(int vector, out string? why)
    {
        ulong ivtBase = ReadTableRegister(UcReg.Idtr).Base;
        if (!_vm.Memory.TryRead(ivtBase + ((ulong)vector * 4), out uint entry))
        {
            return Refuse("the IVT entry is not in guest memory", out why);
        }

        if (entry == 0)
        {
            return Refuse("the IVT entry is 0000:0000 (no handler installed)", out why);
        }

        ulong flags = ReadRegister(GuestRegister.Rflags);
        ulong cs = ReadRegister(GuestRegister.Cs);
        ulong ip = ReadRegister(GuestRegister.Rip);
        ulong ssBase = (ReadRegister(GuestRegister.Ss) & 0xFFFF) << 4;
        ulong esp = ReadRegister(GuestRegister.Rsp);
        ushort sp = (ushort)esp;
        foreach (ushort value in (ReadOnlySpan<ushort>)[(ushort)flags, (ushort)cs, (ushort)ip])
        {
            sp = unchecked((ushort)(sp - 2));
            if (!_vm.Memory.TryWrite(ssBase + sp, value))
            {
                return Refuse($"the stack at {ssBase >> 4:X4}:{sp:X4} is not writable", out why);
            }
        }

        WriteRegister(GuestRegister.Rsp, (esp & 0xFFFF_0000) | sp);
        WriteRegister(GuestRegister.Rflags, flags & ~(FlagIf | FlagTf | FlagAc));
        WriteRegister(GuestRegister.Cs, entry >> 16);
        WriteRegister(GuestRegister.Rip, entry & 0xFFFF);
        why = null;
        return true;
    }

    private bool DeliverLongMode(int vector, uint? errorCode, out string? why)
    {
        (ulong idtBase, uint limit) = ReadTableRegister(UcReg.Idtr);
        if (((ulong)vector * GateSize64) + GateSize64 - 1 > limit)
        {
            return Refuse($"the vector is beyond the IDT limit 0x{limit:X}", out why);
        }

        Span<byte> gate = stackalloc byte[GateSize64];
        if (_vm.Memory.Read(idtBase + ((ulong)vector * GateSize64), gate) != GateSize64)
        {
            return Refuse("the IDT gate is not in guest memory", out why);
        }

        byte access = gate[5];
        int type = access & 0xF;
        if ((access & GatePresent) == 0 || (type != GateTypeInterrupt64 && type != GateTypeTrap64))
        {
            return Refuse($"the IDT gate is not a present 64-bit interrupt or trap gate (access byte 0x{access:X2})", out why);
        }

        ulong target = BitConverter.ToUInt16(gate) | ((ulong)BitConverter.ToUInt16(gate[6..]) << 16) | ((ulong)BitConverter.ToUInt32(gate[8..]) << 32);
        ulong selector = BitConverter.ToUInt16(gate[2..]);
        ulong rsp = ReadRegister(GuestRegister.Rsp);
        ulong flags = ReadRegister(GuestRegister.Rflags);
        ulong newRsp = rsp & ~0xFUL;
        Span<ulong> frame = [ReadRegister(GuestRegister.Ss), rsp, flags, ReadRegister(GuestRegister.Cs), ReadRegister(GuestRegister.Rip), errorCode ?? 0];
        int count = HasErrorCode(vector) || errorCode.HasValue ? 6 : 5;
        Span<byte> bytes = stackalloc byte[8];
        for (int i = 0; i < count; i++)
        {
            newRsp -= 8;
            BitConverter.TryWriteBytes(bytes, frame[i]);
            if (WriteVirtual(newRsp, bytes) != 8)
            {
                return Refuse($"the stack at 0x{newRsp:X} is not writable", out why);
            }
        }

        WriteRegister(GuestRegister.Rsp, newRsp);
        ulong cleared = FlagTf | FlagNt | FlagRf | (type == GateTypeInterrupt64 ? FlagIf : 0);
        WriteRegister(GuestRegister.Rflags, flags & ~cleared);
        if (selector != ReadRegister(GuestRegister.Cs))
        {
            WriteRegister(GuestRegister.Cs, selector);
        }

        WriteRegister(GuestRegister.Rip, target);
        why = null;
        return true;
    }
}
