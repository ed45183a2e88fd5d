// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// Interrupt and exception delivery for one core, which the CPU engine leaves to us: real mode through the IVT, 64-bit
/// mode through IDT interrupt and trap gates and 16/32-bit protected mode through 8-byte gates
/// (<see cref="ProtectedModeDelivery"/>), at the current privilege level (SDM Vol. 3A, "Interrupt and Exception
/// Handling"), and events injected by the debugger or an exit handler (VMX's VM-entry interruption information).
/// Exceptions the engine raises get their error codes here (#PF's rebuilt by <see cref="PageFaultCause"/>; 0 for the
/// others, which the engine raises only for causes whose code is 0). A fault while delivering (a gate beyond the IDT
/// limit: #GP; a gate not present: #NP; a frame push to a page the walk refuses: #PF with CR2) follows the SDM's
/// double-fault rules (table "Conditions for Generating a Double Fault"): delivered after a benign event, #DF after a
/// contributory one or a #PF, and a fault while delivering #DF is a triple fault: the VM stops (shutdown) with a report
/// naming the core, RIP, the vector and each fault on the way.
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
    private const int DoubleFault = 8;
    private const int SegmentNotPresent = 11;
    private const int StackFault = 12;
    private const int GeneralProtection = 13;
    private const int PageFault = 14;
    private const byte GatePresent = 0x80;
    private const byte GateTypeInterrupt64 = 0xE;
    private const byte GateTypeTrap64 = 0xF;
    private const byte IntN = 0xCD;
    private const int RspOffset = 4;
    private const int IstOffset = 0x24;
    private const ulong DescriptorCode = 3UL << 43; // S and the code bit of the type
    private const ulong DescriptorConforming = 1UL << 42;
    private const ulong DescriptorPresent = 1UL << 47;
    private const ulong DescriptorLong = 1UL << 53;
    private const ulong DescriptorDefaultBig = 1UL << 54;

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
    internal static bool HasErrorCode(int vector) => vector is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21;

    /// <summary>Queues an event; false when one is already pending or the vector is not 0–255.</summary>
    public bool TryQueue(int vector, uint? errorCode)
    {
        if (vector is < 0 or > 255)
        {
            return false;
        }

        return Interlocked.CompareExchange(ref _pending, new PendingInjection(vector, errorCode), null) is null;
    }

    /// <summary>Drops a pending injected event (an INIT resets the core: SDM Vol. 3A 9.1.1).</summary>
    public void ClearPendingInjection() => Volatile.Write(ref _pending, null);

    /// <summary>At a block boundary (in the block callback): delivers a pending injected event. Writing RIP there makes
    /// the engine abandon the block before any of its instructions ran.</summary>
    public void DeliverPendingInjection(ulong blockAddress)
    {
        if (Interlocked.Exchange(ref _pending, null) is not PendingInjection pending)
        {
            return;
        }

        DeliverAt(blockAddress, pending.Vector, pending.ErrorCode);
    }

    /// <summary>Delivers an external interrupt (a vector the interrupt controller answered to INTA) before the block at
    /// the linear <paramref name="blockAddress"/>, or after a HLT with RIP after it: the return address is that
    /// instruction.</summary>
    /// <remarks>An interrupt event (<see cref="GuestEventKinds.Interrupt"/>) runs before the delivery with RIP at that
    /// instruction, and may skip it (the vector was acknowledged: it is lost).</remarks>
    public void DeliverExternalInterrupt(int vector, ulong blockAddress)
    {
        if (!_core.Machine.Traps(GuestEventKinds.Interrupt))
        {
            DeliverAt(blockAddress, vector, null);
            return;
        }

        ulong rip = blockAddress - _core.SegmentBase(GuestRegister.Cs);
        if (_core.ReadRegister(GuestRegister.Rip) != rip)
        {
            _core.WriteRegister(GuestRegister.Rip, rip);
        }

        GuestEventExit? exit = _core.Machine.BeginGuestEvent(_core, GuestEventKinds.Interrupt, (ulong)vector, rip);
        if (exit is not { SkipInstruction: true })
        {
            // The pre stage may have moved RIP (a script): the interrupt returns to where it left it.
            Deliver(vector, null, external: true);
        }

        _core.Machine.EndGuestEvent(exit);
    }

    private void DeliverAt(ulong blockAddress, int vector, uint? errorCode)
    {
        ulong rip = blockAddress - _core.SegmentBase(GuestRegister.Cs);
        if (_core.ReadRegister(GuestRegister.Rip) != rip)
        {
            _core.WriteRegister(GuestRegister.Rip, rip);
        }

        Deliver(vector, errorCode, external: true);
    }

    /// <summary>
    /// Delivers an exception or software interrupt the engine raised, then tells the engine it was delivered
    /// (<see cref="IExecutionContext.ExceptionDelivered"/>): otherwise it would turn the guest's next fault into a
    /// double fault.
    /// </summary>
    public void DeliverException(int vector)
    {
        // INT3, INTO and INT n come from the program (no error code, EXT clear, even for a vector whose exception has
        // one: SDM Vol. 3A, "Error Code"); the other vectors are exceptions.
        bool software = vector is >= 32 or 3 or 4 || IsSoftwareInterrupt(vector);
        uint? errorCode = software ? null : vector switch
        {
            PageFault => PageFaultCause.ErrorCode(_core),
            _ when HasErrorCode(vector) => 0,
            _ => null,
        };
        GuestEventExit? exit = vector < 32 && _core.Machine.Traps(GuestEventKinds.Exception) && !IsSoftwareInterrupt(vector)
            ? _core.Machine.BeginGuestEvent(_core, GuestEventKinds.Exception, (ulong)vector, _core.ReadRegister(GuestRegister.Rip), errorCode)
            : null;
        if (exit is not { SkipInstruction: true })
        {
            Deliver(vector, errorCode, external: !software);
        }

        _core.Machine.EndGuestEvent(exit);
        if (!_core.HasFault)
        {
            _core.Context.ExceptionDelivered();
        }
    }

    /// <summary>Delivers a fault the model raised for the instruction at RIP (SYSCALL's #UD, for one), as an exception.</summary>
    /// <remarks>An exception event (<see cref="GuestEventKinds.Exception"/>) sees it as it sees the engine's.</remarks>
    public void DeliverFault(int vector, uint? errorCode)
    {
        GuestEventExit? exit = _core.Machine.BeginGuestEvent(_core, GuestEventKinds.Exception, (ulong)vector, _core.ReadRegister(GuestRegister.Rip), errorCode);
        if (exit is not { SkipInstruction: true })
        {
            Deliver(vector, errorCode, external: true);
        }

        _core.Machine.EndGuestEvent(exit);
    }

    /// <summary>
    /// True when the engine raised <paramref name="vector"/> (below 32) for an <c>INT n</c>: the engine reports both
    /// the same way, but INT n ends its translation block and leaves RIP after itself, so RIP at the block's end with
    /// <c>CD n</c> just before it is the instruction; a fault leaves RIP at an instruction inside the block.
    /// </summary>
    private bool IsSoftwareInterrupt(int vector)
    {
        ulong linear = _core.LinearInstructionPointer();
        if (linear < 2 || linear != _core.Context.CurrentBlockEnd)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[2];
        return _core.ReadVirtual(linear - 2, bytes) == 2 && bytes[0] == IntN && bytes[1] == vector;
    }

    private void Deliver(int vector, uint? errorCode, bool external)
    {
        int original = vector;
        List<string>? chain = null; // the faults on the way, for the triple-fault report only
        while (true)
        {
            DeliveryFault? fault = null;
            bool unsupported = false;
            bool delivered = _core.Is64Bit
                ? DeliverLongMode(vector, errorCode, external, out string? why, out fault)
                : (_core.ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0
                    ? DeliverRealMode(vector, out why)
                    : ProtectedModeDelivery.Deliver(_core, vector, errorCode, external, out why, out fault, out unsupported);
            if (delivered)
            {
                Interlocked.Increment(ref _delivered);
                return;
            }

            if (unsupported)
            {
                // Not the guest's fault and no shutdown: a limit of the VM, reported as such (docs/differences.md).
                string before = chain is null ? string.Empty : $" (after {string.Join("; then ", chain)})";
                _core.Fail($"core {_core.Index}: vector {vector} (0x{vector:X2}) at RIP 0x{_core.ReadRegister(GuestRegister.Rip):X} cannot be delivered{before}: {why}; the VM stops here (not a triple fault; see docs/differences.md).");
                return;
            }

            (chain ??= []).Add($"vector {vector}: {why}");
            if (fault is not DeliveryFault second || vector == DoubleFault)
            {
                break;
            }

            if (!external)
            {
                // A fault while delivering INT n, INT3 or INTO is the instruction's: it is reported at the instruction
                // (SDM Vol. 2A, "INT n/INTO/INT3/INT1": the saved CS:EIP points to it), not after it.
                RewindSoftwareInterrupt(vector);
            }

            if (second.Cr2 is ulong cr2)
            {
                _core.WriteRegister(GuestRegister.Cr2, cr2);
            }

            // SDM Vol. 3A, table "Conditions for Generating a Double Fault".
            bool doubleFault = (IsContributory(vector) && IsContributory(second.Vector))
                || (vector == PageFault && (second.Vector == PageFault || IsContributory(second.Vector)));
            (vector, errorCode) = doubleFault ? (DoubleFault, 0u) : (second.Vector, second.ErrorCode);
            external = true;
        }

        _core.Fail($"core {_core.Index}: triple fault (shutdown): vector {original} (0x{original:X2}) at RIP 0x{_core.ReadRegister(GuestRegister.Rip):X} could not be delivered: {string.Join("; then ", chain ?? [])}");
    }

    /// <summary>Moves RIP from after the INT n (CD n), INT3 (CC) or INTO (CE) that raised <paramref name="vector"/> back to
    /// it.</summary>
    private void RewindSoftwareInterrupt(int vector)
    {
        ulong linear = _core.LinearInstructionPointer();
        Span<byte> bytes = stackalloc byte[2];
        int length = linear >= 2 && _core.ReadVirtual(linear - 2, bytes) == 2 && bytes[0] == IntN && bytes[1] == vector ? 2 : 1;
        _core.WriteRegister(GuestRegister.Rip, _core.ReadRegister(GuestRegister.Rip) - (ulong)length);
    }

    /// <summary>#DE, #TS, #NP, #SS, #GP: the contributory exceptions.</summary>
    private static bool IsContributory(int vector) => vector is 0 or 10 or 11 or 12 or 13;

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

    private bool DeliverLongMode(int vector, uint? errorCode, bool external, out string? why, out DeliveryFault? fault)
    {
        fault = null;
        TableRegister idt = _core.Context.ReadTableRegister(TableRegisterKind.Idtr);
        uint idtErrorCode = ((uint)vector * 8) + 2 + (external ? 1u : 0); // IDT flag, EXT (SDM Vol. 3A, "Error Code")
        if (((ulong)vector * GateSize64) + GateSize64 - 1 > idt.Limit)
        {
            fault = new DeliveryFault(GeneralProtection, idtErrorCode, null);
            return Refuse($"the vector is beyond the IDT limit 0x{idt.Limit:X} (#GP)", out why);
        }

        // IDTR holds a linear address: the gate is read through the page walker (Linux's IDT is at a kernel virtual
        // address that is not its physical one).
        Span<byte> gate = stackalloc byte[GateSize64];
        ulong gateAddress = idt.Base + ((ulong)vector * GateSize64);
        if (_core.ReadVirtual(gateAddress, gate) != GateSize64)
        {
            return Refuse($"the IDT gate at 0x{gateAddress:X} is not mapped to guest memory", out why);
        }

        byte access = gate[5];
        int type = access & 0xF;
        if (type != GateTypeInterrupt64 && type != GateTypeTrap64)
        {
            fault = new DeliveryFault(GeneralProtection, idtErrorCode, null);
            return Refuse($"the IDT gate is not a 64-bit interrupt or trap gate (access byte 0x{access:X2}, #GP)", out why);
        }

        if ((access & GatePresent) == 0)
        {
            fault = new DeliveryFault(SegmentNotPresent, idtErrorCode, null);
            return Refuse($"the IDT gate is not present (access byte 0x{access:X2}, #NP)", out why);
        }

        uint ext = external ? 1u : 0;
        int cpl = (int)(_core.ReadRegister(GuestRegister.Cs) & 3);
        int gateDpl = (access >> 5) & 3;
        if (!external && gateDpl < cpl)
        {
            // INT n, INT3, INTO from an outer ring to a more privileged gate (SDM Vol. 3A, "Protection of Exception- and
            // Interrupt-Handler Procedures").
            fault = new DeliveryFault(GeneralProtection, idtErrorCode, null);
            return Refuse($"INT {vector} at CPL {cpl} through a gate of DPL {gateDpl} (#GP)", out why);
        }

        ulong target = BitConverter.ToUInt16(gate) | ((ulong)BitConverter.ToUInt16(gate[6..]) << 16) | ((ulong)BitConverter.ToUInt32(gate[8..]) << 32);
        ushort selector = BitConverter.ToUInt16(gate[2..]);
        int ist = gate[4] & 7;
        if (!TargetPrivilege(selector, cpl, ext, out int newCpl, out ulong codeDescriptor, out why, out fault))
        {
            return false;
        }

        bool inward = newCpl < cpl;
        ulong rsp = _core.ReadRegister(GuestRegister.Rsp);
        ulong newRsp = rsp;
        if (ist != 0 || inward)
        {
            // SDM Vol. 3A, "64-Bit Mode Stack Frame" and "Interrupt Stack Table": IST n, else RSP of the new ring.
            if (!TaskStateSegment.TryReadStack64(_core, ist != 0 ? IstOffset + (8 * (ist - 1)) : RspOffset + (8 * newCpl), ext, out newRsp, out why, out fault))
            {
                return false;
            }
        }

        ulong flags = _core.ReadRegister(GuestRegister.Rflags);
        newRsp &= ~0xFUL;
        Span<ulong> frame = [_core.ReadRegister(GuestRegister.Ss), rsp, flags, _core.ReadRegister(GuestRegister.Cs), _core.ReadRegister(GuestRegister.Rip), errorCode ?? 0];
        int count = errorCode.HasValue ? 6 : 5; // software INT n and events injected without one push none

        // The pushes are supervisor writes through the page walk (rights checked, accessed and dirty flags set); all
        // are checked before any is written, so a fault leaves the old stack as it was.
        Span<ulong> physical = stackalloc ulong[6];
        for (int i = 0; i < count; i++)
        {
            ulong slot = newRsp - (8 * (ulong)(i + 1));
            Translation t = _core.Translate(slot, PageAccess.Write, AccessPrivilege.Supervisor, setAccessedDirty: false);
            if (t.IsNonCanonical)
            {
                // SDM Vol. 2A, "INT n" (IA-32e mode): a non-canonical stack address raises #SS(EXT).
                fault = new DeliveryFault(StackFault, ext, null);
                return Refuse($"the stack address 0x{slot:X} is not canonical (#SS)", out why);
            }

            if (!t.IsMapped || (t.Physical & 7) != 0 || !_core.Machine.Memory.TryRead(t.Physical, out ulong _))
            {
                fault = t.IsMapped ? null : new DeliveryFault(PageFault, (uint)t.ErrorCode, slot);
                return Refuse($"the stack at 0x{slot:X} is not writable{(fault is null ? string.Empty : $" (#PF, error code 0x{(uint)t.ErrorCode:X})")}", out why);
            }

            physical[i] = t.Physical;
        }

        for (int i = 0; i < count; i++)
        {
            ulong slot = newRsp - (8 * (ulong)(i + 1));
            _core.Translate(slot, PageAccess.Write, AccessPrivilege.Supervisor, setAccessedDirty: true);
            _core.Machine.WritePhysical(physical[i], BitConverter.GetBytes(frame[i]));
        }

        newRsp -= 8 * (ulong)count;
        if (inward)
        {
            // The engine changes the CPL only on its own far transfers: set it, then SS = a null selector with RPL = the
            // new CPL (SDM Vol. 3A, "Stack Switching in IA-32e Mode").
            _core.Context.SetPrivilegeLevel(newCpl);
            _core.WriteRegister(GuestRegister.Ss, (ulong)newCpl);
        }

        _core.WriteRegister(GuestRegister.Rsp, newRsp);
        ulong cleared = FlagTf | FlagNt | FlagRf | (type == GateTypeInterrupt64 ? FlagIf : 0);
        _core.WriteRegister(GuestRegister.Rflags, flags & ~cleared);
        // CS with its whole hidden part (a 64-bit engine's CS write changes only the selector): from compatibility mode
        // the handler's 64-bit code segment must replace the 32-bit one.
        SegmentCache newCs = SegmentCache.FromDescriptor((ushort)((selector & 0xFFFC) | newCpl), codeDescriptor);
        if (newCs != _core.Context.ReadSegment(GuestRegister.Cs))
        {
            _core.Context.LoadSegment(GuestRegister.Cs, newCs);
        }

        _core.WriteRegister(GuestRegister.Rip, target);
        why = null;
        return true;
    }

    /// <summary>The privilege level of the handler's code segment <paramref name="selector"/> (SDM Vol. 3A, "Privilege
    /// Level Checking When Accessing ... Interrupt-Handler Procedures"): a null selector, one beyond the GDT or not a
    /// 64-bit code segment raises #GP(selector), one not present #NP(selector), one less privileged than CPL #GP(selector).</summary>
    private bool TargetPrivilege(ushort selector, int cpl, uint ext, out int newCpl, out ulong descriptor, out string? why, out DeliveryFault? fault)
    {
        newCpl = cpl;
        descriptor = 0;
        fault = null;
        uint code = (uint)(selector & 0xFFFC) | ext;
        if ((selector & 0xFFFC) == 0 || (selector & 4) != 0 || Segmentation.ReadDescriptor(_core, selector, out descriptor) != Segmentation.Lookup.Found)
        {
            fault = new DeliveryFault(GeneralProtection, code, null);
            return Refuse($"the gate's code selector 0x{selector:X4} is null, in the LDT or beyond the GDT (#GP)", out why);
        }

        bool codeSegment = (descriptor & DescriptorCode) == DescriptorCode;
        if (!codeSegment || (descriptor & DescriptorLong) == 0 || (descriptor & DescriptorDefaultBig) != 0)
        {
            fault = new DeliveryFault(GeneralProtection, code, null);
            return Refuse($"the gate's selector 0x{selector:X4} is not a 64-bit code segment (descriptor 0x{descriptor:X16}, #GP)", out why);
        }

        int dpl = (int)((descriptor >> 45) & 3);
        bool conforming = (descriptor & DescriptorConforming) != 0;
        if (dpl > cpl)
        {
            fault = new DeliveryFault(GeneralProtection, code, null);
            return Refuse($"the handler's code segment 0x{selector:X4} (DPL {dpl}) is less privileged than CPL {cpl} (#GP)", out why);
        }

        if ((descriptor & DescriptorPresent) == 0)
        {
            fault = new DeliveryFault(SegmentNotPresent, code, null);
            return Refuse($"the handler's code segment 0x{selector:X4} is not present (#NP)", out why);
        }

        newCpl = conforming ? cpl : dpl;
        why = null;
        return true;
    }

    /// <summary>An exception raised while delivering another: its vector, error code and, for #PF, CR2.</summary>
    internal readonly record struct DeliveryFault(int Vector, uint ErrorCode, ulong? Cr2);

    private sealed record PendingInjection(int Vector, uint? ErrorCode);
}
