// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using static HyperDbgRemote.VmxDriver.Internal.Execution.EventDelivery;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// Interrupt and exception delivery in 16/32-bit protected mode (SDM Vol. 3A, "Interrupt and Exception Handling",
/// "IDT Descriptors", "Exception and Interrupt Handling"; Vol. 2A, "INT n/INTO/INT3/INT1" pseudo-code): 8-byte interrupt
/// and trap gates, 32-bit gates pushing doublewords, 16-bit gates words. To a handler of the same privilege the frame
/// (EFLAGS, CS, EIP, error code) goes on SS:ESP (SS:SP for a 16-bit stack); to a more privileged one (from ring 1–3 to a
/// non-conforming code segment of a lower DPL) the stack switches to SSn:ESPn of the TSS for the handler's ring
/// (<see cref="TaskStateSegment"/>) and the frame also holds the old SS and ESP. CS and SS are loaded with their
/// descriptors' hidden parts (<see cref="IExecutionContext.LoadSegment"/>; loading SS sets the CPL); the handler returns
/// with the engine's own IRET.
/// <para>
/// Faults during delivery are reported to <see cref="EventDelivery"/>, which applies the double-fault rules, with the
/// SDM's error codes (EXT set for events not caused by INT n, INT3 or INTO): a gate beyond the IDT limit or of another
/// type #GP(vector × 8 + 2 + EXT); INT n, INT3 or INTO through a gate whose DPL is below CPL #GP(vector × 8 + 2); a gate
/// not present #NP(vector × 8 + 2 + EXT); a null handler selector #GP(EXT), one beyond its table, not code or of a DPL
/// above CPL #GP(selector + EXT), not present #NP(selector + EXT); the TSS stack beyond TR's limit #TS(TR + EXT); a null
/// new SS #TS(EXT), one beyond its table, not a writable data segment or whose RPL or DPL differ from the handler's ring
/// #TS(SS + EXT), not present #SS(SS + EXT); a push the page walk refuses #PF with CR2 (nothing is written). Task gates
/// (a hardware task switch) and delivery from virtual-8086 mode are not modelled: they are reported as unsupported and
/// the VM stops there, before anything is changed (docs/differences.md).
/// </para>
/// </summary>
internal static class ProtectedModeDelivery
{
    private const int GateSize = 8;
    private const int InvalidTss = 10;
    private const int SegmentNotPresent = 11;
    private const int StackFault = 12;
    private const int GeneralProtection = 13;
    private const int PageFault = 14;
    private const byte GatePresent = 0x80;
    private const byte TypeTask = 0x5;
    private const byte TypeInterrupt16 = 0x6;
    private const byte TypeTrap16 = 0x7;
    private const byte TypeInterrupt32 = 0xE;
    private const byte TypeTrap32 = 0xF;
    private const ulong FlagTf = 1UL << 8;
    private const ulong FlagIf = 1UL << 9;
    private const ulong FlagNt = 1UL << 14;
    private const ulong FlagRf = 1UL << 16;
    private const ulong FlagVm = 1UL << 17;

    /// <summary>Names of the vectors a delivery can fault with, for reports.</summary>
    private static readonly string[] s_names = ["#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "", "#TS", "#NP", "#SS", "#GP", "#PF"];

    /// <summary>Delivers <paramref name="vector"/> through the protected-mode IDT; false with the reason (and the fault
    /// it raised, if any) when it cannot; <paramref name="unsupported"/> when the reason is a feature the VM does not
    /// model (a task gate, virtual-8086 mode) rather than the guest's fault. <paramref name="external"/> is false only
    /// for INT n, INT3 and INTO.</summary>
    public static bool Deliver(Vcpu core, int vector, uint? errorCode, bool external, out string? why, out DeliveryFault? fault, out bool unsupported)
    {
        fault = null;
        unsupported = false;
        IExecutionContext context = core.Context;
        TableRegister idt = context.ReadTableRegister(TableRegisterKind.Idtr);
        uint ext = external ? 1u : 0;
        uint idtErrorCode = ((uint)vector * 8) + 2 + ext;
        if (((ulong)vector * GateSize) + GateSize - 1 > idt.Limit)
        {
            return Fail(GeneralProtection, idtErrorCode, $"the vector is beyond the IDT limit 0x{idt.Limit:X}", out why, out fault);
        }

        Span<byte> gate = stackalloc byte[GateSize];
        if (core.ReadVirtual(idt.Base + ((ulong)vector * GateSize), gate) != GateSize)
        {
            return Refuse("the IDT gate is not in guest memory", out why);
        }

        byte access = gate[5];
        int type = access & 0x1F;
        if (type == TypeTask)
        {
            unsupported = true;
            return Refuse($"the IDT gate is a task gate (TSS selector 0x{BitConverter.ToUInt16(gate[2..]):X4}): hardware task switches are not supported by the VM", out why);
        }

        if (type is not (TypeInterrupt16 or TypeTrap16 or TypeInterrupt32 or TypeTrap32))
        {
            return Fail(GeneralProtection, idtErrorCode, $"the IDT gate is not an interrupt or trap gate (access byte 0x{access:X2})", out why, out fault);
        }

        ulong flags = context.ReadRegister(GuestRegister.Rflags);
        if ((flags & FlagVm) != 0)
        {
            unsupported = true;
            return Refuse("the core is in virtual-8086 mode (EFLAGS.VM set): delivery from virtual-8086 mode is not supported by the VM", out why);
        }

        ulong cs = context.ReadRegister(GuestRegister.Cs) & 0xFFFF;
        int cpl = (int)(cs & 3);
        int gateDpl = (access >> 5) & 3;
        if (!external && gateDpl < cpl)
        {
            // SDM Vol. 3A, "Protection of Exception- and Interrupt-Handler Procedures": INT n, INT3 and INTO only.
            return Fail(GeneralProtection, ((uint)vector * 8) + 2, $"INT {vector} at CPL {cpl} through a gate of DPL {gateDpl}", out why, out fault);
        }

        if ((access & GatePresent) == 0)
        {
            return Fail(SegmentNotPresent, idtErrorCode, $"the IDT gate is not present (access byte 0x{access:X2})", out why, out fault);
        }

        bool gate32 = type is TypeInterrupt32 or TypeTrap32;
        ulong target = BitConverter.ToUInt16(gate) | (gate32 ? (ulong)BitConverter.ToUInt16(gate[6..]) << 16 : 0);
        ushort selector = BitConverter.ToUInt16(gate[2..]);
        if (!HandlerSegment(core, selector, cpl, ext, out SegmentCache code, out why, out fault))
        {
            return false;
        }

        int newCpl = (code.Flags & SegmentCache.ConformingOrExpandDown) != 0 ? cpl : code.Dpl;
        SegmentCache? newSs = null;
        ulong esp = context.ReadRegister(GuestRegister.Rsp);
        ulong stackTop = esp;
        SegmentCache stack = context.ReadSegment(GuestRegister.Ss);
        if (newCpl < cpl)
        {
            if (!TaskStateSegment.TryReadStack(core, newCpl, ext, out ushort ssSelector, out uint newEsp, out why, out fault)
                || !StackSegment(core, ssSelector, newCpl, ext, out SegmentCache ss, out why, out fault))
            {
                return false;
            }

            newSs = ss;
            stack = ss;
            stackTop = newEsp;
        }

        int width = gate32 ? 4 : 2;
        ulong eip = context.ReadRegister(GuestRegister.Rip);
        Span<uint> frame = stackalloc uint[6];
        int count = 0;
        if (newSs is not null)
        {
            frame[count++] = (uint)context.ReadRegister(GuestRegister.Ss) & 0xFFFF;
            frame[count++] = (uint)esp;
        }

        frame[count++] = (uint)flags;
        frame[count++] = (uint)cs;
        frame[count++] = (uint)eip;
        if (errorCode is uint e)
        {
            frame[count++] = e;
        }

        ulong mask = (stack.Flags & SegmentCache.Big) != 0 ? uint.MaxValue : ushort.MaxValue;
        if (!Push(core, stack.Base, stackTop, mask, width, frame[..count], newSs?.Selector, ext, out why, out fault))
        {
            return false;
        }

        if (newSs is SegmentCache loaded)
        {
            context.LoadSegment(GuestRegister.Ss, loaded); // sets the CPL to its DPL, the handler's ring
        }

        ulong newEsp32 = (stackTop - (ulong)(width * count)) & mask;
        ulong oldHigh = newSs is null ? esp & ~mask : 0;
        context.WriteRegister(GuestRegister.Rsp, oldHigh | newEsp32);
        context.LoadSegment(GuestRegister.Cs, code with { Selector = (ushort)((selector & 0xFFFC) | newCpl) });
        ulong cleared = FlagTf | FlagNt | FlagRf | FlagVm | (type is TypeInterrupt16 or TypeInterrupt32 ? FlagIf : 0);
        context.WriteRegister(GuestRegister.Rflags, flags & ~cleared);
        context.WriteRegister(GuestRegister.Rip, target);
        why = null;
        return true;
    }

    /// <summary>The handler's code segment (SDM Vol. 2A, "INT n", PROTECTED-MODE): a null selector #GP(EXT); beyond its
    /// table, not a code segment, or DPL above CPL #GP(selector + EXT); not present #NP(selector + EXT).</summary>
    private static bool HandlerSegment(Vcpu core, ushort selector, int cpl, uint ext, out SegmentCache code, out string? why, out DeliveryFault? fault)
    {
        code = default;
        fault = null;
        uint error = (uint)(selector & 0xFFFC) | ext;
        Segmentation.Lookup lookup = Segmentation.ReadDescriptor(core, selector, out ulong descriptor);
        switch (lookup)
        {
            case Segmentation.Lookup.Null:
                return Fail(GeneralProtection, ext, "the gate's code selector is null", out why, out fault);
            case Segmentation.Lookup.BeyondLimit:
                return Fail(GeneralProtection, error, $"the gate's code selector 0x{selector:X4} is beyond its descriptor table", out why, out fault);
            case Segmentation.Lookup.Unmapped:
                return Refuse($"the descriptor of the gate's code selector 0x{selector:X4} is not mapped to guest memory", out why);
        }

        code = SegmentCache.FromDescriptor(selector, descriptor);
        if (!code.IsCode || code.Dpl > cpl)
        {
            return Fail(GeneralProtection, error, $"the gate's selector 0x{selector:X4} is not a code segment of DPL {cpl} or less (descriptor 0x{descriptor:X16})", out why, out fault);
        }

        if ((code.Flags & SegmentCache.Present) == 0)
        {
            return Fail(SegmentNotPresent, error, $"the handler's code segment 0x{selector:X4} is not present", out why, out fault);
        }

        why = null;
        return true;
    }

    /// <summary>The new stack segment of an inter-privilege delivery to ring <paramref name="cpl"/> (SDM Vol. 2A, "INT n",
    /// INTER-PRIVILEGE-LEVEL-INTERRUPT): null #TS(EXT); beyond its table, RPL or DPL not <paramref name="cpl"/>, not a
    /// writable data segment #TS(selector + EXT); not present #SS(selector + EXT).</summary>
    private static bool StackSegment(Vcpu core, ushort selector, int cpl, uint ext, out SegmentCache ss, out string? why, out DeliveryFault? fault)
    {
        ss = default;
        fault = null;
        uint error = (uint)(selector & 0xFFFC) | ext;
        Segmentation.Lookup lookup = Segmentation.ReadDescriptor(core, selector, out ulong descriptor);
        switch (lookup)
        {
            case Segmentation.Lookup.Null:
                return Fail(InvalidTss, ext, $"the TSS's SS{cpl} is null", out why, out fault);
            case Segmentation.Lookup.BeyondLimit:
                return Fail(InvalidTss, error, $"the TSS's SS{cpl} 0x{selector:X4} is beyond its descriptor table", out why, out fault);
            case Segmentation.Lookup.Unmapped:
                return Refuse($"the descriptor of the TSS's SS{cpl} 0x{selector:X4} is not mapped to guest memory", out why);
        }

        ss = SegmentCache.FromDescriptor(selector, descriptor);
        if ((selector & 3) != cpl || ss.Dpl != cpl || !ss.IsData || (ss.Flags & SegmentCache.ReadWrite) == 0)
        {
            return Fail(InvalidTss, error, $"the TSS's SS{cpl} 0x{selector:X4} is not a writable data segment with RPL and DPL {cpl} (descriptor 0x{descriptor:X16})", out why, out fault);
        }

        if ((ss.Flags & SegmentCache.Present) == 0)
        {
            return Fail(StackFault, error, $"the TSS's SS{cpl} 0x{selector:X4} is not present", out why, out fault);
        }

        why = null;
        return true;
    }

    /// <summary>Pushes <paramref name="frame"/> (first value first) below <paramref name="top"/> on the stack at
    /// <paramref name="stackBase"/> as supervisor writes through the page walk. Every slot is checked before any is
    /// written, so a fault leaves the stack as it was.</summary>
    private static bool Push(Vcpu core, ulong stackBase, ulong top, ulong mask, int width, ReadOnlySpan<uint> frame, ushort? newSs, uint ext, out string? why, out DeliveryFault? fault)
    {
        fault = null;
        GuestMemory memory = core.Machine.Memory;
        Span<ulong> physical = stackalloc ulong[frame.Length];
        for (int i = 0; i < frame.Length; i++)
        {
            ulong linear = (stackBase + ((top - ((ulong)(width * (i + 1)))) & mask)) & uint.MaxValue;
            Translation t = core.Translate(linear, PageAccess.Write, AccessPrivilege.Supervisor, setAccessedDirty: false);
            if (!t.IsMapped || ((t.Physical + (ulong)width - 1) & ~(GuestMemory.PageSize - 1)) != (t.Physical & ~(GuestMemory.PageSize - 1))
                || !memory.TryRead(t.Physical, out uint _))
            {
                fault = t.IsMapped ? null : new DeliveryFault(PageFault, (uint)t.ErrorCode, linear);
                why = $"the stack at 0x{linear:X}{(newSs is ushort s ? $" (SS 0x{s:X4} from the TSS)" : string.Empty)} is not writable"
                    + (fault is null ? string.Empty : $" (#PF, error code 0x{(uint)t.ErrorCode:X})");
                return false;
            }

            physical[i] = t.Physical;
        }

        for (int i = 0; i < frame.Length; i++)
        {
            ulong linear = (stackBase + ((top - ((ulong)(width * (i + 1)))) & mask)) & uint.MaxValue;
            core.Translate(linear, PageAccess.Write, AccessPrivilege.Supervisor, setAccessedDirty: true);
            byte[] bytes = BitConverter.GetBytes(frame[i]);
            core.Machine.WritePhysical(physical[i], bytes.AsSpan(0, width));
        }

        why = null;
        return true;
    }

    private static bool Fail(int vector, uint errorCode, string reason, out string? why, out DeliveryFault? fault)
    {
        fault = new DeliveryFault(vector, errorCode, null);
        why = $"{reason} ({s_names[vector]}, error code 0x{errorCode:X})";
        return false;
    }

    private static bool Refuse(string reason, out string? why)
    {
        why = reason;
        return false;
    }
}
