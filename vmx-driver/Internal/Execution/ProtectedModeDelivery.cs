// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using static HyperDbgRemote.VmxDriver.Internal.Execution.EventDelivery;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// Interrupt and exception delivery in 16/32-bit protected mode (SDM Vol. 3A, "Interrupt and Exception Handling",
/// "IDT Descriptors", "Exception and Interrupt Handling"): 8-byte interrupt and trap gates, 32-bit gates pushing EFLAGS,
/// CS, EIP and the error code as doublewords, 16-bit gates as words, on SS:ESP (SS:SP for a 16-bit stack) at the current
/// privilege level. Faults during delivery are reported to <see cref="EventDelivery"/>, which applies the double-fault
/// rules: a gate beyond the IDT limit or of another type raises #GP, a gate not present #NP (vector × 8 + 2 + EXT), a
/// push the page walk refuses #PF with CR2 (nothing is written). Task gates and delivery from ring 1–3 (a stack switch
/// through the TSS) are refused with a report.
/// </summary>
internal static class ProtectedModeDelivery
{
    private const int GateSize = 8;
    private const int GeneralProtection = 13;
    private const int SegmentNotPresent = 11;
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

    /// <summary>Delivers <paramref name="vector"/> through the protected-mode IDT; false with the reason (and the fault
    /// it raised, if any) when it cannot.</summary>
    public static bool Deliver(Vcpu core, int vector, uint? errorCode, bool external, out string? why, out DeliveryFault? fault)
    {
        fault = null;
        IExecutionContext context = core.Context;
        GuestMemory memory = core.Machine.Memory;
        TableRegister idt = context.ReadTableRegister(TableRegisterKind.Idtr);
        uint idtErrorCode = ((uint)vector * 8) + 2 + (external ? 1u : 0);
        if (((ulong)vector * GateSize) + GateSize - 1 > idt.Limit)
        {
            fault = new DeliveryFault(GeneralProtection, idtErrorCode, null);
            return Refuse($"the vector is beyond the IDT limit 0x{idt.Limit:X} (#GP)", out why);
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
            return Refuse("the IDT gate is a task gate (task switches are not supported)", out why);
        }

        if (type is not (TypeInterrupt16 or TypeTrap16 or TypeInterrupt32 or TypeTrap32))
        {
            fault = new DeliveryFault(GeneralProtection, idtErrorCode, null);
            return Refuse($"the IDT gate is not an interrupt or trap gate (access byte 0x{access:X2}, #GP)", out why);
        }

        if ((access & GatePresent) == 0)
        {
            fault = new DeliveryFault(SegmentNotPresent, idtErrorCode, null);
            return Refuse($"the IDT gate is not present (access byte 0x{access:X2}, #NP)", out why);
        }

        ulong cs = context.ReadRegister(GuestRegister.Cs);
        if ((cs & 3) != 0)
        {
            return Refuse($"delivery from ring {cs & 3} (a stack switch through the TSS) is not supported", out why);
        }

        bool gate32 = type is TypeInterrupt32 or TypeTrap32;
        ulong target = BitConverter.ToUInt16(gate) | (gate32 ? (ulong)BitConverter.ToUInt16(gate[6..]) << 16 : 0);
        ulong selector = BitConverter.ToUInt16(gate[2..]);
        bool stack32 = (context.ReadSegment(GuestRegister.Ss).Flags & SegmentCache.Big) != 0;
        ulong ssBase = core.SegmentBase(GuestRegister.Ss);
        ulong esp = context.ReadRegister(GuestRegister.Rsp);
        ulong flags = context.ReadRegister(GuestRegister.Rflags);
        int width = gate32 ? 4 : 2;
        int count = errorCode.HasValue ? 4 : 3;
        Span<uint> frame = [(uint)flags, (uint)cs, (uint)context.ReadRegister(GuestRegister.Rip), errorCode ?? 0];
        ulong mask = stack32 ? uint.MaxValue : ushort.MaxValue;

        // Every slot is checked before any is written, so a fault leaves the old stack as it was.
        Span<ulong> physical = stackalloc ulong[4];
        for (int i = 0; i < count; i++)
        {
            ulong linear = ssBase + ((esp - ((ulong)(width * (i + 1)))) & mask);
            Translation t = core.Translate(linear, PageAccess.Write, AccessPrivilege.Supervisor, setAccessedDirty: false);
            if (!t.IsMapped || ((t.Physical + (ulong)width - 1) & ~(GuestMemory.PageSize - 1)) != (t.Physical & ~(GuestMemory.PageSize - 1))
                || !memory.TryRead(t.Physical, out uint _))
            {
                fault = t.IsMapped ? null : new DeliveryFault(PageFault, (uint)t.ErrorCode, linear);
                return Refuse($"the stack at 0x{linear:X} is not writable{(fault is null ? string.Empty : $" (#PF, error code 0x{(uint)t.ErrorCode:X})")}", out why);
            }

            physical[i] = t.Physical;
        }

        for (int i = 0; i < count; i++)
        {
            ulong linear = ssBase + ((esp - ((ulong)(width * (i + 1)))) & mask);
            core.Translate(linear, PageAccess.Write, AccessPrivilege.Supervisor, setAccessedDirty: true);
            byte[] bytes = BitConverter.GetBytes(frame[i]);
            core.Machine.WritePhysical(physical[i], bytes.AsSpan(0, width));
        }

        ulong newEsp = (esp - (ulong)(width * count)) & mask;
        context.WriteRegister(GuestRegister.Rsp, (esp & ~mask) | newEsp);
        ulong cleared = FlagTf | FlagNt | FlagRf | FlagVm | (type is TypeInterrupt16 or TypeInterrupt32 ? FlagIf : 0);
        context.WriteRegister(GuestRegister.Rflags, flags & ~cleared);
        if (selector != cs)
        {
            context.WriteRegister(GuestRegister.Cs, selector);
        }

        context.WriteRegister(GuestRegister.Rip, target);
        why = null;
        return true;
    }

    private static bool Refuse(string reason, out string? why)
    {
        why = reason;
        return false;
    }
}
