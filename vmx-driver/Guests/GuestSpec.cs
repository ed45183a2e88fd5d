// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// Parses the guest argument of the agent: <c>demo</c>, <c>bios:PATH</c> (with <c>,kernel=VMLINUZ[,initrd=PATH]
/// [,cmdline=TEXT|,append=TEXT]</c>: a Linux kernel booted by the BIOS as QEMU's -kernel), <c>flat16:PATH@SEG:OFF</c> (hex; a boot
/// sector: <c>flat16:boot.bin@0:7c00</c>), <c>flat64:PATH@ADDR</c> (hex) or a Linux kernel (<see cref="LinuxGuestSpec"/>).
/// </summary>
public static class GuestSpec
{
    /// <summary>The accepted forms, for error messages and help.</summary>
    public const string Syntax = "demo | " + BiosSyntax + " | flat16:PATH@SEG:OFF | flat64:PATH@ADDR | " + LinuxGuestSpec.Syntax;

    /// <summary>The BIOS guest's form.</summary>
    public const string BiosSyntax = "bios:PATH[,kernel=VMLINUZ[,initrd=PATH][,cmdline=TEXT|,append=TEXT]]";

    /// <summary>Parses and loads the image (for file-based guests); errors name the problem.</summary>
    /// <exception cref="GuestImageException">Unknown form, bad address, or an unusable image.</exception>
    public static IGuestLoader Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string s = spec.Trim();
        if (s.Equals("demo", StringComparison.OrdinalIgnoreCase))
        {
            return new DemoGuest();
        }

        if (s.Equals("linux", StringComparison.OrdinalIgnoreCase) || s.StartsWith("linux:", StringComparison.OrdinalIgnoreCase)
            || s.StartsWith("linux,", StringComparison.OrdinalIgnoreCase))
        {
            return LinuxGuestSpec.Parse(s);
        }

        int colon = s.IndexOf(':', StringComparison.Ordinal);
        string kind = colon < 0 ? s : s[..colon].ToLowerInvariant();
        string rest = colon < 0 ? string.Empty : s[(colon + 1)..];
        switch (kind)
        {
            case "bios":
                return ParseBios(spec, rest);
            case "flat16":
                {
                    (string path, string at) = SplitAt(spec, rest, "SEG:OFF");
                    string[] parts = at.Split(':');
                    if (parts.Length != 2 || !TryHex(parts[0], 0xFFFF, out ulong seg) || !TryHex(parts[1], 0xFFFF, out ulong off))
                    {
                        throw new GuestImageException($"Guest '{spec}': '{at}' is not SEG:OFF (two hex numbers up to FFFF, e.g. 0:7c00).");
                    }

                    return Flat16Guest.FromFile(path, (ushort)seg, (ushort)off);
                }

            case "flat64":
                {
                    (string path, string at) = SplitAt(spec, rest, "ADDR");
                    if (!TryHex(at, uint.MaxValue, out ulong address))
                    {
                        throw new GuestImageException($"Guest '{spec}': '{at}' is not a hex load address (e.g. 100000).");
                    }

                    return Flat64Guest.FromFile(path, address);
                }

            default:
                throw new GuestImageException($"Unknown guest '{spec}': use {Syntax}.");
        }
    }

    /// <summary><c>bios:PATH[,kernel=...,initrd=...,cmdline=...|append=...]</c>: the options have the <c>linux</c>
    /// guest's meaning (cmdline= replaces its default command line, append= adds to it).</summary>
    private static BiosGuest ParseBios(string spec, string rest)
    {
        int first = LinuxGuestSpec.FirstOption(rest, 0);
        string path = first < 0 ? rest : rest[..first];
        Dictionary<string, string> options = LinuxGuestSpec.Options(spec, first < 0 ? string.Empty : rest[first..], ["kernel", "initrd", "cmdline", "append"]);
        if (!options.TryGetValue("kernel", out string? kernel))
        {
            if (options.Count > 0)
            {
                throw new GuestImageException($"Guest '{spec}': {string.Join(", ", options.Keys.Select(k => k + "="))} needs kernel= (as QEMU's -initrd and -append need -kernel).");
            }

            return BiosGuest.FromFile(path);
        }

        byte[] image = ImageFile.Read(path, "BIOS");
        string commandLine = LinuxGuestSpec.CommandLine(options.GetValueOrDefault("cmdline"), options.GetValueOrDefault("append"));
        return new BiosGuest(image, path, BiosKernel.FromFiles(kernel.Trim(), options.GetValueOrDefault("initrd")?.Trim(), commandLine));
    }

    private static (string Path, string At) SplitAt(string spec, string rest, string what)
    {
        int at = rest.LastIndexOf('@');
        if (at <= 0)
        {
            throw new GuestImageException($"Guest '{spec}' needs PATH@{what}.");
        }

        return (rest[..at], rest[(at + 1)..]);
    }

    private static bool TryHex(string text, ulong max, out ulong value)
    {
        string t = text.Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            t = t[2..];
        }

        return ulong.TryParse(t, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value <= max;
    }
}
