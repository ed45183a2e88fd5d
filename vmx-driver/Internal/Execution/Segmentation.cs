// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// Segment bases and the code size of a core, from its registers and its GDT (SDM Vol. 3A, "Segment Descriptors"):
/// selector × 16 in real mode, the descriptor's base in protected mode, 0 in 64-bit mode except FS and GS (their base
/// MSRs).
/// </summary>
internal static class Segmentation
{
    private const ulong Cr0Pe = 1;
    private const ulong DescriptorDefaultBig = 1UL << 54;

    /// <summary>The base of a segment register.</summary>
    public static ulong Base(IExecutionContext context, bool is64Bit, GuestMemory memory, GuestRegister segment)
    {
        if (is64Bit)
        {
            return segment switch
            {
                GuestRegister.Fs => context.ReadRegister(GuestRegister.FsBase),
                GuestRegister.Gs => context.ReadRegister(GuestRegister.GsBase),
                _ => 0,
            };
        }

        ulong selector = context.ReadRegister(segment) & 0xFFFF;
        if ((context.ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0)
        {
            return selector << 4;
        }

        return TryReadDescriptor(context, memory, (ushort)selector, out ulong d) ? ((d >> 16) & 0xFF_FFFF) | (((d >> 56) & 0xFF) << 24) : 0;
    }

    /// <summary>The code size of the current instruction: 16, 32 or 64.</summary>
    public static int CodeBitness(IExecutionContext context, bool is64Bit, GuestMemory memory)
    {
        if (is64Bit)
        {
            return 64;
        }

        if ((context.ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0)
        {
            return 16;
        }

        ushort cs = (ushort)context.ReadRegister(GuestRegister.Cs);
        return TryReadDescriptor(context, memory, cs, out ulong descriptor) && (descriptor & DescriptorDefaultBig) != 0 ? 32 : 16;
    }

    internal static bool TryReadDescriptor(IExecutionContext context, GuestMemory memory, ushort selector, out ulong descriptor)
    {
        descriptor = 0;
        if ((selector & ~7) == 0)
        {
            return false;
        }

        ulong gdtBase = context.ReadTableRegister(TableRegisterKind.Gdtr).Base;
        return memory.TryRead(gdtBase + (ulong)(selector & ~7), out descriptor);
    }
}
