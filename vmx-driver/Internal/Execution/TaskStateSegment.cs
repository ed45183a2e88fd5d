// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using static HyperDbgRemote.VmxDriver.Internal.Execution.EventDelivery;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The one reader of the stacks a TSS holds for a privilege change (SDM Vol. 3A, "Task-State Segment (TSS)", "Stack
/// Switching", "64-Bit Task State Segment"): RSPn and ISTn of a 64-bit TSS, SSn:ESPn of a 32-bit TSS, SSn:SPn of a
/// 16-bit TSS, through TR's base (a linear address, read through the page walk) and limit. A slot beyond TR's limit, or
/// a null TR, raises #TS(TR selector + EXT); a TSS not mapped to guest memory is reported (delivery cannot proceed).
/// </summary>
internal static class TaskStateSegment
{
    private const int InvalidTss = 10;
    private const uint Type16Available = 1, Type16Busy = 3;

    /// <summary>Reads the 8-byte stack pointer at <paramref name="offset"/> of the 64-bit TSS (RSPn at 4 + 8n, ISTn at
    /// 24h + 8(n - 1)).</summary>
    public static bool TryReadStack64(Vcpu core, int offset, uint ext, out ulong rsp, out string? why, out DeliveryFault? fault)
    {
        rsp = 0;
        Span<byte> bytes = stackalloc byte[8];
        if (!TryRead(core, offset, bytes, ext, out why, out fault))
        {
            return false;
        }

        rsp = BitConverter.ToUInt64(bytes);
        return true;
    }

    /// <summary>Reads the stack of privilege level <paramref name="cpl"/> (0–2) from a 32-bit TSS (ESPn at 4 + 8n, SSn
    /// at 8 + 8n) or a 16-bit one (SPn at 2 + 4n, SSn at 4 + 4n), as TR's type says; the limit check covers the
    /// whole SS:ESP pair, as the SDM's (for a 32-bit TSS, 8n + 4 + 5 must not exceed the limit).</summary>
    public static bool TryReadStack(Vcpu core, int cpl, uint ext, out ushort ss, out uint esp, out string? why, out DeliveryFault? fault)
    {
        ss = 0;
        esp = 0;
        TableRegister tr = core.Context.ReadTableRegister(TableRegisterKind.Tr);
        uint type = (tr.Flags >> 8) & 0xF;
        bool tss16 = type is Type16Available or Type16Busy;
        Span<byte> bytes = stackalloc byte[tss16 ? 4 : 6];
        int offset = tss16 ? 2 + (4 * cpl) : 4 + (8 * cpl);
        if (!TryRead(core, offset, bytes, ext, out why, out fault))
        {
            return false;
        }

        esp = tss16 ? BitConverter.ToUInt16(bytes) : BitConverter.ToUInt32(bytes);
        ss = BitConverter.ToUInt16(bytes[(tss16 ? 2 : 4)..]);
        return true;
    }

    private static bool TryRead(Vcpu core, int offset, Span<byte> bytes, uint ext, out string? why, out DeliveryFault? fault)
    {
        fault = null;
        TableRegister tr = core.Context.ReadTableRegister(TableRegisterKind.Tr);
        if ((tr.Selector & 0xFFFC) == 0 || (ulong)offset + (ulong)bytes.Length - 1 > tr.Limit)
        {
            uint code = (uint)(tr.Selector & 0xFFFC) | ext;
            fault = new DeliveryFault(InvalidTss, code, null);
            why = $"the stack at offset 0x{offset:X} of the TSS (TR 0x{tr.Selector:X4}, limit 0x{tr.Limit:X}) is beyond its limit (#TS, error code 0x{code:X})";
            return false;
        }

        if (core.ReadVirtual(tr.Base + (ulong)offset, bytes) != bytes.Length)
        {
            why = $"the TSS at 0x{tr.Base:X} is not mapped to guest memory";
            return false;
        }

        why = null;
        return true;
    }
}
