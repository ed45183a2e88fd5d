// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using System.Text.RegularExpressions;

namespace HyperDbgRemote.Tests.Shared;

/// <summary>
/// Makes two Linux console logs of the same kernel, initramfs and command line comparable line by line: line endings
/// and terminal escape sequences go, the firmware's lines before the kernel banner go (QEMU boots through SeaBIOS,
/// we enter the kernel directly), printk timestamps go, and figures that depend on the host and the moment — the TSC
/// frequency, BogoMIPS and lpj, clocksource cycle counts, wall-clock dates, durations — become placeholders.
/// Shared by the tests and the benchmarks (linked into each).
/// </summary>
internal static partial class BootLogNormalizer
{
    /// <summary>The first line of the kernel's own output.</summary>
    public const string KernelBanner = "Linux version ";

    /// <summary>The kernel's last line before it enters user mode to run /init.</summary>
    public const string RunInit = "Run /init as init process";

    /// <summary>Normalised lines, from the kernel banner on (all lines when there is none).</summary>
    public static IReadOnlyList<string> Normalize(string log)
    {
        ArgumentNullException.ThrowIfNull(log);
        string text = Escape().Replace(log, string.Empty).Replace("\r", string.Empty, StringComparison.Ordinal);
        var lines = new List<string>();
        bool started = !text.Contains(KernelBanner, StringComparison.Ordinal);
        foreach (string raw in SeparateInterleavedKernelMessages(text.Split('\n')))
        {
            string line = Timestamp().Replace(raw, string.Empty);
            started |= line.Contains(KernelBanner, StringComparison.Ordinal);
            if (!started)
            {
                continue;
            }

            line = Mhz().Replace(line, "<N> MHz");
            line = BogoMips().Replace(line, "<N> BogoMIPS");
            line = Lpj().Replace(line, "lpj=<N>");
            line = Cycles().Replace(line, "max_cycles: <N>, max_idle_ns: <N> ns");
            line = Date().Replace(line, "<DATE>");
            line = EpochSeconds().Replace(line, "(<N>)");
            line = Duration().Replace(line, "<N> $1");
            line = MarkingStable().Replace(line, "Marking stable (<N>)");
            line = TimedInterruptCount().Replace(line, "  $1:        <N>    XT-PIC      $2");
            lines.Add(line.TrimEnd());
        }

        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    /// <summary>
    /// Lines that legitimately differ between our machine and QEMU's <c>pc</c> machine booting the same kernel, each
    /// with its reason (docs/vmx-driver.md lists them for users): QEMU boots through SeaBIOS, which leaves SMBIOS, the
    /// MP table and the VGA ROM behind; QEMU's CPU model and TSC differ from the engine's; QEMU has IDE, VGA and NIC
    /// PCI functions we do not model; the memory the firmware keeps differs by a few KiB.
    /// </summary>
    public static readonly IReadOnlyList<(Regex Pattern, string Reason)> KnownDifferences =
    [
        (new Regex(@"^(SMBIOS |DMI[: ])"), "SMBIOS tables come from SeaBIOS; we enter the kernel without firmware"),
        (new Regex(@"^(tsc|clocksource|sched_clock|Calibrating delay loop|TSC found unstable after boot|Unstable clock detected|If you want to keep using the local clock|  ""trace_clock=local""|on the kernel command line$|calibrate_delay_direct\(\) |Probably due to long platform interrupts)"), "the TSC's frequency is the host's on QEMU and 1 GHz on ours, which the clocksource lines and the delay loop's figures follow; under host load our kernel may calibrate the TSC by the PIT's slow path instead of the fast one (docs/vmx-driver.md, 'A stall of a core's thread is no guest time'); an application processor's calibrate_delay_direct times its delay loop with the TSC where the kernel has one; on a loaded host it may fail to, and says 'Probably due to long platform interrupts' on a line of its own"),
        (new Regex(@"^(AGP: |x86/PAT: |CPU MTRRs |Disabled$|mtrr: )"), "MTRRs/PAT: the engine's CPU has none; QEMU's does (and with two CPUs SeaBIOS programs the bootstrap processor's, which the kernel then copies to the other: 'mtrr: your CPUs had inconsistent ... settings')"),
        (new Regex(@"^(Intel MultiProcessor|MPTABLE: |Processor #0|IOAPIC\[0\]|Processors: |found SMP MP-table|No local APIC present|APIC: |smpboot: weird)"), "the MP table comes from SeaBIOS; we give none (noapic nolapic)"),
        (new Regex(@"^Memory: \d+K/"), "the firmware's reservations differ by a few KiB"),
        (new Regex(@"^NR_IRQS: "), "nr_irqs follows the interrupt controllers the firmware's tables describe"),
        (new Regex(@"^Console: colour "), "QEMU has a VGA card; we have none (the dummy console)"),
        (new Regex(@"^(process: using |Last level [id]TLB entries|Speculative Store Bypass|smpboot: Total of |smpboot: CPU0: )"), "the CPU model (QEMU's qemu64 on this host's CPU vs the engine's)"),
        (new Regex(@"^pci 0000:00:0(1\.[13]|2\.0|3\.0)|^pci 0000:00:01\.0: PIIX/ICH IRQ router|^pci 0000:00:02\.0: vgaarb"), "QEMU's IDE, ACPI/SMBus, VGA and NIC functions are not modelled"),
        (new Regex(@"^audit: type=2000 audit\(\d+\.\d+:"), "a wall-clock time stamp"),
        (new Regex(@"^input: AT (Translated|Raw) Set 2 keyboard"), "SeaBIOS sets the i8042's translation bit before the kernel runs"),
        (new Regex(@"^pci [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]: \S+ took (<N>|\d+) usecs$"), "Linux reports a PCI fixup that took more than about 10 ms (drivers/pci/quirks.c, fixup_debug_report), which on a loaded host depends on what else ran, QEMU's TCG included"),
        (new Regex(@"^ 12:\s+\d+\s+XT-PIC\s+i8042$"), "SeaBIOS leaves the i8042's command byte with the mouse interrupt off; we start from the reset value (keyboard and mouse interrupts on), so the kernel's first AUX loopback test raises one more IRQ 12"),
    ];

    /// <summary>
    /// The lines that differ when both machines boot the kernel through SeaBIOS (QEMU's <c>-bios</c>, our
    /// <c>bios:...,kernel=</c>): the same firmware then builds the MP table and the e820 map from the same fw_cfg
    /// files, and the SMBIOS tables are QEMU's, so only what the CPU, its TSC and the devices we do not model decide is
    /// left (docs/vmx-driver.md lists them for users).
    /// </summary>
    public static readonly IReadOnlyList<(Regex Pattern, string Reason)> KnownDifferencesThroughSeaBios =
    [
        .. KnownDifferences.Where(d => !d.Pattern.IsMatch("SMBIOS 2.8 present.") && !d.Pattern.IsMatch("Intel MultiProcessor Specification v1.4")),
        (new Regex(@"^(MPTABLE: no processors registered!|Processor #0|IOAPIC\[0\]|Processors: |No local APIC present|APIC: |smpboot: weird|BIOS bug, MP table errors detected!|\.\.\. disabling SMP support\.|smpboot: Allowing \d+ CPUs|setup_percpu: |percpu: Embedded |SLUB: |rcu: \tRCU restricting CPUs|rcu: Adjusting geometry|smpboot: Max logical packages|Freeing SMP alternatives memory: )"),
            "SeaBIOS's MP table lists no processor on our machine (its CPU has no local APIC) and reads version 0 from the I/O APIC (there is none); the kernel calls that an MP table error and, with no processor listed, allows one hot-plug CPU more, which the per-CPU lines count (and it keeps its SMP alternatives)"),
        (new Regex(@"^(BIOS-e820: \[mem 0x0000000000100000-0x[0-9a-f]{16}\] usable|BIOS-e820: \[mem 0x0{8}[0-9a-f]{3}e0000-0x0{8}[0-9a-f]{3}fffff\] reserved|last_pfn = |RAMDISK: \[mem |Faking a node at |NODE_DATA\(0\) allocated |  DMA32    \[mem |  node   0: \[mem 0x0000000000100000-|Initmem setup node 0 |On node 0, zone DMA32: \d+ pages in unavailable ranges|Built 1 zonelists, mobility grouping on\.  Total pages: )"),
            "QEMU's ACPI tables are not given (the command line has acpi=off): QEMU's SeaBIOS keeps them in the top 128 KiB of RAM, reserved in e820; ours gives that RAM to the kernel, so every line that prints the end of usable RAM differs by 128 KiB (linuxboot_dma.bin puts the initrd at that end)"),
        (new Regex(@"^$"), "an empty line carries no message; one run of ours had one more than QEMU's (a line the kernel prints in parts can end on a line of its own when another message comes between the parts, by timing)"),
    ];

    /// <summary>The lines without those matching <see cref="KnownDifferencesThroughSeaBios"/>.</summary>
    public static IReadOnlyList<string> WithoutKnownDifferencesThroughSeaBios(IEnumerable<string> lines) =>
        lines.Where(l => !KnownDifferencesThroughSeaBios.Any(d => d.Pattern.IsMatch(l))).ToList();

    /// <summary>What one multiset of lines has more of than the other, each way (for a readable failure).</summary>
    public static (IReadOnlyList<string> OnlyFirst, IReadOnlyList<string> OnlySecond) MultisetDifference(IEnumerable<string> first, IEnumerable<string> second)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string l in first)
        {
            counts[l] = counts.GetValueOrDefault(l) + 1;
        }

        foreach (string l in second)
        {
            counts[l] = counts.GetValueOrDefault(l) - 1;
        }

        return ([.. counts.Where(c => c.Value > 0).SelectMany(c => Enumerable.Repeat(c.Key, c.Value))],
            [.. counts.Where(c => c.Value < 0).SelectMany(c => Enumerable.Repeat(c.Key, -c.Value))]);
    }

    /// <summary>
    /// Splits normalised lines into the kernel's boot, up to and including <see cref="RunInit"/> (drivers probe
    /// asynchronously, so compare it as a multiset), and what /init printed after it (a script: compare it in order).
    /// </summary>
    public static (IReadOnlyList<string> Kernel, IReadOnlyList<string> Init) SplitAtInit(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        int run = lines.ToList().FindIndex(l => l.Contains(RunInit, StringComparison.Ordinal));
        return run < 0 ? (lines, []) : (lines.Take(run + 1).ToList(), lines.Skip(run + 1).ToList());
    }

    /// <summary>The lines without those matching <see cref="KnownDifferences"/>.</summary>
    public static IReadOnlyList<string> WithoutKnownDifferences(IEnumerable<string> lines) =>
        lines.Where(l => !KnownDifferences.Any(d => d.Pattern.IsMatch(l))).ToList();

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Za-z0-9]|[A-Za-z=>])")]
    private static partial Regex Escape();

    /// <summary>
    /// The kernel prints on the console whenever it likes: a message can land in the middle of a line a user program is
    /// writing (QEMU's log once had <c>...GNU/Linux[    6.578289] clocksource: Switched to clocksource tsc</c>, then the
    /// rest of uname's line). Such a message becomes a line of its own, and the program's line is joined again from the
    /// text before it and the line after it.
    /// </summary>
    private static IEnumerable<string> SeparateInterleavedKernelMessages(IEnumerable<string> lines)
    {
        string carried = string.Empty;
        foreach (string raw in lines)
        {
            string line = carried + raw;
            carried = string.Empty;
            Match embedded = EmbeddedTimestamp().Match(line);
            if (embedded.Success)
            {
                yield return line[embedded.Index..];
                carried = line[..embedded.Index];
                continue;
            }

            yield return line;
        }

        if (carried.Length > 0)
        {
            yield return carried;
        }
    }

    /// <summary>A printk timestamp (<c>[%5lu.%06lu] </c>) after the start of a line.</summary>
    [GeneratedRegex(@"(?<=.)\[\s*\d+\.\d{6}\] ")]
    private static partial Regex EmbeddedTimestamp();

    [GeneratedRegex(@"^\[\s*\d+\.\d+\] ")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"\d+\.\d+ MHz")]
    private static partial Regex Mhz();

    [GeneratedRegex(@"\d+\.\d+ BogoMIPS")]
    private static partial Regex BogoMips();

    [GeneratedRegex(@"lpj=\d+")]
    private static partial Regex Lpj();

    [GeneratedRegex(@"max_cycles: 0x[0-9a-f]+, max_idle_ns: \d+ ns")]
    private static partial Regex Cycles();

    [GeneratedRegex(@"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")]
    private static partial Regex Date();

    [GeneratedRegex(@"\(\d{9,}\)")]
    private static partial Regex EpochSeconds();

    [GeneratedRegex(@"\b\d+ (usecs|msecs|ms|ns)\b")]
    private static partial Regex Duration();

    [GeneratedRegex(@"Marking stable \([^)]*\)->\([^)]*\)")]
    private static partial Regex MarkingStable();

    // /proc/interrupts: the timer's count follows how long the boot took in guest time (tickless idle skips ticks), the
    // UART's how often its transmitter drained while the kernel wrote, which follows the host's speed; the other IRQs'
    // counts are compared. The count's width sets the column's padding, so the whole line is rewritten in one form.
    [GeneratedRegex(@"^\s*(\d+):\s+\d+\s+XT-PIC\s+(timer|ttyS0)\b")]
    private static partial Regex TimedInterruptCount();
}
