// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>Puts a core in the state a <see cref="CoreStart"/> describes: long mode with the loader's page tables and
/// GDT, or real mode at CS:IP.</summary>
internal static class CoreStartState
{
    private const ulong Cr0Pe = 1;
    private const ulong Cr0Pg = 1UL << 31;
    private const ulong Cr4Pae = 1UL << 5;

    /// <summary>The linear address the core starts at.</summary>
    public static ulong StartAddress(CoreStart start) =>
        start.Mode == CoreStartMode.Long64 ? start.InstructionPointer : ((ulong)start.CodeSegment << 4) + start.InstructionPointer;

    public static void Apply(IExecutionContext context, CoreStart start)
    {
        if (start.Mode == CoreStartMode.WaitForStartup)
        {
            return; // the engine's power-on state; the start-up IPI gives CS and IP (ApplyStartup)
        }

        if (start.Mode == CoreStartMode.Long64)
        {
            if (start.PageTableRoot != 0)
            {
                context.WriteRegister(GuestRegister.Cr3, start.PageTableRoot);
                context.WriteRegister(GuestRegister.Cr4, context.ReadRegister(GuestRegister.Cr4) | Cr4Pae);
                context.WriteRegister(GuestRegister.Cr0, context.ReadRegister(GuestRegister.Cr0) | Cr0Pg | Cr0Pe);
            }

            if (start.GdtBase != 0)
            {
                context.WriteTableRegister(TableRegisterKind.Gdtr, start.GdtBase, IdentityMap.GdtLimit);
                context.WriteRegister(GuestRegister.Cs, IdentityMap.CodeSelector);
                foreach (GuestRegister segment in (ReadOnlySpan<GuestRegister>)[GuestRegister.Ss, GuestRegister.Ds, GuestRegister.Es])
                {
                    context.WriteRegister(segment, IdentityMap.DataSelector);
                }
            }
        }
        else
        {
            context.WriteRegister(GuestRegister.Cs, start.CodeSegment);
            context.WriteRegister(GuestRegister.Ss, 0);
        }

        context.WriteRegister(GuestRegister.Rsp, start.StackPointer);
        context.WriteRegister(GuestRegister.Rip, start.InstructionPointer);
    }

    /// <summary>
    /// A start-up IPI with <paramref name="vector"/> on a core in wait-for-SIPI (SDM Vol. 3A 9.4.3 and 11.6.1, "Start-Up"):
    /// real mode at CS selector vector &lt;&lt; 8, whose base is vector &lt;&lt; 12, and IP 0. Returns the linear start address.
    /// </summary>
    public static ulong ApplyStartup(IExecutionContext context, byte vector)
    {
        context.WriteRegister(GuestRegister.Cs, (ulong)vector << 8); // a real-mode load in a 16-bit engine: base = selector × 16
        context.WriteRegister(GuestRegister.Rip, 0);
        return (ulong)vector << 12;
    }
}
