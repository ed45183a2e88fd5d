// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>The shape of a virtual machine: guest RAM and core count.</summary>
public sealed record VmConfiguration
{
    /// <summary>Smallest RAM a VM may have.</summary>
    public const ulong MinimumMemoryBytes = 2 * 1024 * 1024;

    /// <summary>Largest RAM a VM may have (below the 4 GiB firmware hole).</summary>
    public const ulong MaximumMemoryBytes = 3UL * 1024 * 1024 * 1024;

    /// <summary>Most cores a VM may have.</summary>
    public const int MaximumCores = 16;

    /// <summary>The error of a <c>--memory MIB</c> option out of range.</summary>
    public static string MemoryOptionError => $"--memory takes a size in MiB from {MinimumMemoryBytes / (1024 * 1024)} to {MaximumMemoryBytes / (1024 * 1024)}";

    /// <summary>Whether a <c>--memory</c> value in MiB is a valid guest RAM size.</summary>
    public static bool IsValidMemoryMiB(long mib) => mib >= (long)(MinimumMemoryBytes / (1024 * 1024)) && mib <= (long)(MaximumMemoryBytes / (1024 * 1024));

    /// <summary>Guest RAM in bytes (default 64 MiB).</summary>
    public ulong MemoryBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Number of cores (default 1).</summary>
    public int Cores { get; init; } = 1;

    /// <summary>
    /// True for a machine with APICs, as QEMU's <c>pc</c>: a local APIC per core (its registers at 0xFEE00000, CPUID
    /// reporting it) and an I/O APIC at 0xFEC00000 on the ISA IRQ lines, the 8259 reaching the bootstrap processor
    /// through LINT0. False (the default): no APIC, the 8259's INTR goes straight to core 0, CPUID reports no APIC.
    /// </summary>
    public bool Apic { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad value.</summary>
    public void Validate()
    {
        if (MemoryBytes < MinimumMemoryBytes || MemoryBytes > MaximumMemoryBytes || MemoryBytes % GuestMemory.PageSize != 0)
        {
            throw new ArgumentException(
                $"Guest memory of {MemoryBytes} bytes is invalid: use {MinimumMemoryBytes / (1024 * 1024)} MiB to {MaximumMemoryBytes / (1024 * 1024)} MiB in whole pages.",
                nameof(MemoryBytes));
        }

        if (Cores < 1 || Cores > MaximumCores)
        {
            throw new ArgumentException($"A VM has 1 to {MaximumCores} cores, not {Cores}.", nameof(Cores));
        }
    }
}
