// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Asm;

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// The built-in demo guest: Guests/Demo/demo.asm (readable Intel syntax, embedded in this assembly) assembled at load
/// time at 1 MiB and run in long mode. Core 0 prints a banner to COM1 (OUT and REP OUTSB), writes POST codes, programs
/// the PIT, reads CMOS, and runs two ring-3 processes with their own CR3 (the same user address backed by different
/// pages) that ask the kernel with SYSCALL to print to COM1 and are switched by the kernel on the PIT's interrupt (IRQ 0
/// through the 8259 and the IDT, taken in ring 3 on the TSS's RSP0); core 1 runs an IN/OUT loop; both share a
/// spinlock-protected counter. It runs until <see cref="RequestStop"/> (or a debugger) sets its stop flag.
/// </summary>
public sealed class DemoGuest : IGuestLoader
{
    /// <summary>Where the demo is loaded and entered.</summary>
    public const ulong LoadAddress = 0x10_0000;

    /// <summary>The virtual address of every ring-3 process's page: the user program, its name at +0x1000.</summary>
    public const ulong UserAddress = 0x4000_0000;

    /// <summary>The smallest RAM the demo needs (its page tables and process pages lie below 14 MiB).</summary>
    public const ulong MinimumMemory = 16 * 1024 * 1024;

    private const string SourceName = "demo.asm";
    private const string KernelExportPrefix = "nt_";

    /// <summary>The assembly source of the demo guest.</summary>
    public static string Source()
    {
        using Stream stream = typeof(DemoGuest).Assembly.GetManifestResourceStream(SourceName)
            ?? throw new InvalidOperationException($"The embedded resource {SourceName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Label addresses of the assembled demo (e.g. "stop_request", "shared_counter", "current_pid").</summary>
    public IReadOnlyDictionary<string, ulong> Labels { get; private set; } = new Dictionary<string, ulong>();

    /// <summary>
    /// Every label as <c>demo!label</c>, and the demo kernel's exports (labels <c>nt_Name</c>) as <c>nt!Name</c>, so
    /// scripts written for Windows targets (<c>nt!ExAllocatePoolWithTag</c>) resolve on the demo guest.
    /// </summary>
    public IReadOnlyDictionary<string, ulong> Symbols
    {
        get
        {
            var symbols = new Dictionary<string, ulong>(StringComparer.Ordinal);
            foreach ((string label, ulong address) in Labels)
            {
                symbols["demo!" + label] = address;
                if (label.StartsWith(KernelExportPrefix, StringComparison.Ordinal))
                {
                    symbols["nt!" + label[KernelExportPrefix.Length..]] = address;
                }
            }

            return symbols;
        }
    }

    /// <inheritdoc/>
    public string Description => "demo guest (built-in, demo.asm)";

    /// <inheritdoc/>
    /// <remarks>Two: the demo's second core runs the "worker" process.</remarks>
    public int DefaultCores => 2;

    /// <inheritdoc/>
    public IReadOnlyList<CoreStart> Load(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (vm.Memory.RamSize < MinimumMemory)
        {
            throw new GuestImageException($"The demo guest needs at least {MinimumMemory / (1024 * 1024)} MiB of RAM.");
        }

        AssemblyResult assembled;
        try
        {
            assembled = TextAssembler.Assemble(Source(), LoadAddress, 64);
        }
        catch (AssemblyException ex)
        {
            throw new GuestImageException($"demo.asm does not assemble: {ex.Message}", ex);
        }

        Labels = assembled.Labels;
        var entries = new List<ulong> { Labels["start"] };
        for (int i = 1; i < vm.Configuration.Cores; i++)
        {
            entries.Add(Labels["ap_start"]);
        }

        IReadOnlyList<CoreStart> starts = new Flat64Guest(assembled.Bytes, LoadAddress, "demo.asm", entries).Load(vm);
        vm.OsProfile = new DemoGuestOsProfile(Labels["process_table"]);
        return starts;
    }

    /// <summary>Sets the demo's stop flag: the guest then writes the debug-exit port and the run ends.</summary>
    public void RequestStop(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        vm.Memory.TryWrite(Labels["stop_request"], 1UL);
    }
}
