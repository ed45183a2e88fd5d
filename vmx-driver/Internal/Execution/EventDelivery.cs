// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// Interrupt and exception delivery for one core, which the CPU engine leaves to us: real mode through the IVT, 64-bit
/// mode through IDT interrupt and trap gates at the current privilege level (SDM Vol. 3A, "Interrupt and Exception
/// Handling"), and events injected by the debugger or an exit handler (VMX's VM-entry interruption information). A
/// vector that cannot be delivered stops the VM with a triple-fault report naming the core, RIP and vector.
/// </summary>
internal sealed class EventDelivery
{
    private const ulong Cr0Pe = 1;
    private const ulong FlagTf = 1UL << 8;
    private const ulong FlagIf = 1UL << 9;
    private const ulong FlagNt = 1UL << 14;
    private const ulong FlagRf = 1UL << 16;
    private const ulong FlagAc = 1UL << 18;
    private const int GateSize64 = 16;
    private const byte GatePresent = 0x80;
    private const byte GateTypeInterrupt64 = 0xE;
    private const byte GateTypeTrap64 = 0xF;

    private readonly Vcpu _core;

    // An event to inject (VMX's VM-entry interruption information): vector and error code swapped in and out as one,
    // so a refused second injection never changes the pending one.
    private PendingInjection? _pending;
    private long _delivered;

    public EventDelivery(Vcpu core)
    {
        _core = core;
    }

    /// <summary>Interrupts and exceptions delivered so far.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>An injected event waits for delivery.</summary>
    public bool HasPendingInjection => Volatile.Read(ref _pending) is not null;

    /// <summary>Vectors whose exceptions push an error code (SDM Vol. 3A, table "Protected-Mode Exceptions and Interrupts").</summary>
    private static bool HasErrorCode(int vector) => vector is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21;

    /// <summary>Queues an event; false when one is already pending or the vector is not 0–255.</summary>
    public bool TryQueue(int vector, uint? errorCode)
    {
        if (vector is < 0 or > 255)
        {
            return false;
        }

        return Interlocked.CompareExchange(ref _pending, new PendingInjection(vector, errorCode), null) is null;
    }

    /// <summary>At a block boundary (in the block callback): delivers a pending injected event. Writing RIP there makes
    /// the engine abandon the block before any of its instructions ran.</summary>
    public void DeliverPendingInjection(ulong blockAddress)
    {
        if (Interlocked.Exchange(ref _pending, null) is not PendingInjection pending)
        {
            return;
        }

        ulong rip = blockAddress - _core.SegmentBase(GuestRegister.Cs);
        if (_core.ReadRegister(GuestRegister.Rip) != rip)
        {
            _core.WriteRegister(GuestRegister.Rip, rip);
        }

        Deliver(pending.Vector, pending.ErrorCode);
    }

    /// <summary>
    /// Delivers an exception or software interrupt the engine raised, then tells the engine it was delivered
    /// (<see cref="IExecutionContext.ExceptionDelivered"/>): otherwise it would turn the guest's next fault into a
    /// double fault.
    /// </summary>
    public void DeliverException(int vector)
    {
        Deliver(vector, null);
        if (!_core.HasFault)
        {
            _core.Context.ExceptionDelivered();
        }
    }

    private void Deliver(int vector, uint? errorCode)
    {
        bool delivered = _core.Is64Bit
            ? DeliverLongMode(vector, errorCode, out string? why)
            : (_core.ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0
                ? DeliverRealMode(vector, out why)
                : Refuse("interrupt delivery in 16/32-bit protected mode is not supported", out why);
        if (delivered)
        {
            Interlocked.Increment(ref _delivered);
            return;
        }

        _core.Fail($"core {_core.Index}: triple fault: vector {vector} (0x{vector:X2}) at RIP 0x{_core.ReadRegister(GuestRegister.Rip):X} could not be delivered: {why}");
    }

    private static bool Refuse(string reason, out string? why)
    {
        why = reason;
        return false;
    }

    private bool DeliverRealMode(int vector, out string? why)
    {
        GuestMemory memory = _core.Machine.Memory;
        ulong ivtBase = _core.Context.ReadTableRegister(TableRegisterKind.Idtr).Base;
        if (!memory.TryRead(ivtBase + ((ulong)vector * 4), out uint entry))
        {
            return Refuse("the IVT entry is not in guest memory", out why);
        }

        if (entry == 0)
        {
            return Refuse("the IVT entry is 0000:0000 (no handler installed)", out why);
        }

        ulong flags = _core.ReadRegister(GuestRegister.Rflags);
        ulong cs = _core.ReadRegister(GuestRegister.Cs);
        ulong ip = _core.ReadRegister(GuestRegister.Rip);
        ulong ssBase = (_core.ReadRegister(GuestRegister.Ss) & 0xFFFF) << 4;
        ulong esp = _core.ReadRegister(GuestRegister.Rsp);
        ushort sp = (ushort)esp;
        foreach (ushort value in (ReadOnlySpan<ushort>)[(ushort)flags, (ushort)cs, (ushort)ip])
        {
            sp = unchecked((ushort)(sp - 2));
            if (!memory.TryWrite(ssBase + sp, value))
            {
                return Refuse($"the stack at {ssBase >> 4:X4}:{sp:X4} is not writable", out why);
            }
        }

        _core.WriteRegister(GuestRegister.Rsp, (esp & 0xFFFF_0000) | sp);
        _core.WriteRegister(GuestRegister.Rflags, flags & ~(FlagIf | FlagTf | FlagAc));
        _core.WriteRegister(GuestRegister.Cs, entry >> 16);
        _core.WriteRegister(GuestRegister.Rip, entry & 0xFFFF);
        why = null;
        return true;
    }

    private bool DeliverLongMode(int vector, uint? errorCode, out string? why)
    {
        TableRegister idt = _core.Context.ReadTableRegister(TableRegisterKind.Idtr);
        if (((ulong)vector * GateSize64) + GateSize64 - 1 > idt.Limit)
        {
            return Refuse($"the vector is beyond the IDT limit 0x{idt.Limit:X}", out why);
        }

        Span<byte> gate = stackalloc byte[GateSize64];
        if (_core.Machine.Memory.Read(idt.Base + ((ulong)vector * GateSize64), gate) != GateSize64)
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
        ulong rsp = _core.ReadRegister(GuestRegister.Rsp);
        ulong flags = _core.ReadRegister(GuestRegister.Rflags);
        ulong newRsp = rsp & ~0xFUL;
        Span<ulong> frame = [_core.ReadRegister(GuestRegister.Ss), rsp, flags, _core.ReadRegister(GuestRegister.Cs), _core.ReadRegister(GuestRegister.Rip), errorCode ?? 0];
        int count = HasErrorCode(vector) || errorCode.HasValue ? 6 : 5;
        Span<byte> bytes = stackalloc byte[8];
        for (int i = 0; i < count; i++)
        {
            newRsp -= 8;
            BitConverter.TryWriteBytes(bytes, frame[i]);
            if (_core.WriteVirtual(newRsp, bytes) != 8)
            {
                return Refuse($"the stack at 0x{newRsp:X} is not writable", out why);
            }
        }

        _core.WriteRegister(GuestRegister.Rsp, newRsp);
        ulong cleared = FlagTf | FlagNt | FlagRf | (type == GateTypeInterrupt64 ? FlagIf : 0);
        _core.WriteRegister(GuestRegister.Rflags, flags & ~cleared);
        if (selector != _core.ReadRegister(GuestRegister.Cs))
        {
            _core.WriteRegister(GuestRegister.Cs, selector);
        }

        _core.WriteRegister(GuestRegister.Rip, target);
        why = null;
        return true;
    }

    private sealed record PendingInjection(int Vector, uint? ErrorCode);
}
