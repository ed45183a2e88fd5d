// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>The local APIC's register offsets in its 4 KiB page (SDM Vol. 3A, Table 11-1 "Local APIC Register Address Map").</summary>
public static class LocalApicRegisters
{
    /// <summary>The default physical base of the local APIC page (IA32_APIC_BASE after reset).</summary>
    public const ulong DefaultBase = 0xFEE0_0000;

    public const int Id = 0x020;
    public const int Version = 0x030;
    public const int TaskPriority = 0x080;
    public const int ArbitrationPriority = 0x090;
    public const int ProcessorPriority = 0x0A0;
    public const int Eoi = 0x0B0;
    public const int RemoteRead = 0x0C0;
    public const int LogicalDestination = 0x0D0;
    public const int DestinationFormat = 0x0E0;
    public const int SpuriousVector = 0x0F0;

    /// <summary>The first of the eight 32-bit in-service registers (0x100–0x170).</summary>
    public const int InService = 0x100;

    /// <summary>The first of the eight 32-bit trigger-mode registers (0x180–0x1F0).</summary>
    public const int TriggerMode = 0x180;

    /// <summary>The first of the eight 32-bit interrupt-request registers (0x200–0x270).</summary>
    public const int InterruptRequest = 0x200;

    public const int ErrorStatus = 0x280;
    public const int InterruptCommandLow = 0x300;
    public const int InterruptCommandHigh = 0x310;
    public const int LvtTimer = 0x320;
    public const int LvtThermal = 0x330;
    public const int LvtPerformance = 0x340;
    public const int LvtLint0 = 0x350;
    public const int LvtLint1 = 0x360;
    public const int LvtError = 0x370;
    public const int TimerInitialCount = 0x380;
    public const int TimerCurrentCount = 0x390;
    public const int TimerDivide = 0x3E0;
}
