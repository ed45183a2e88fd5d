// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>
/// SeaBIOS's debug-console log as the comparison with QEMU reads it: the lines up to and including "Booting from
/// ROM...", without the lines that differ because our machine lacks a device QEMU's <c>pc</c> has, each with its reason.
/// </summary>
internal static partial class SeaBiosLog
{
    public const string BootingFromRom = "Booting from ROM...";

    /// <summary>Lines that differ, and why (docs/differences.md lists the same).</summary>
    public static readonly IReadOnlyList<(Regex Line, string Reason)> KnownDifferences =
    [
        (new Regex(@"^Moving pm_base|^PCI: init bdf=00:01\.3|^Using pmtimer|^CPU Mhz="), "no ACPI power-management function (PIIX4 00:01.3): SeaBIOS times with the TSC, not the PM timer"),
        (new Regex(@"^PCI: map device bdf=00:01\.1|^PCI: init bdf=00:01\.1|^ATA controller|^DVD/CD|^Searching bootorder for: /pci@i0cf8/\*@1,1/|^Device reports MEDIUM NOT PRESENT"), "no IDE controller (00:01.1) and no CD-ROM drive"),
        (new Regex(@"^Found \d+ PCI devices|^PCI: IO: "), "the two PCI functions above are missing from the count and the I/O window"),
        (new Regex(@"^Found \d+ cpu\(s\) max supported|^No apic - only the main cpu"), "no local APIC"),
        (new Regex(@"^sercon: "), "QEMU gives SeaBIOS etc/sercon-port (its serial console); we do not"),
        (new Regex(@"^Searching bootorder for: /pci@i0cf8/isa@1/fdc@03f0/floppy@0"), "no floppy drive"),
        (new Regex(@"^Found \d+ lpt ports"), "no parallel port"),
        (new Regex(@"^Searching bootorder for: /rom@genroms/kvmvapic\.bin|^Running option rom at c080:0003"), "no kvmvapic.bin option ROM (QEMU's APIC patching ROM)"),
        (new Regex(@"^Copying MPTABLE from|^Copying SMBIOS from|^Space available for UMB:|^Returned \d+ bytes of ZoneHigh|^e820 map has|^  \d: "), "QEMU's ACPI tables (etc/table-loader) take 128 KiB at the top of RAM (reserved in e820) and move SeaBIOS's allocations"),
    ];

    /// <summary>The lines up to and including "Booting from ROM..." (all of them when it is missing), without the known
    /// differences.</summary>
    public static IReadOnlyList<string> Compared(string log)
    {
        var lines = new List<string>();
        foreach (string raw in log.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n'))
        {
            if (!KnownDifferences.Any(d => d.Line.IsMatch(raw)))
            {
                lines.Add(raw);
            }

            if (raw == BootingFromRom)
            {
                break;
            }
        }

        return lines;
    }
}
