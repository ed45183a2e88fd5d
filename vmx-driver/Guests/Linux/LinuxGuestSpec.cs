// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// The Linux guest specification: <c>linux:VMLINUZ[,initrd=PATH][,map=PATH][,apic=on|off][,cmdline=TEXT | ,append=TEXT]</c>, or
/// <c>linux[,OPTIONS]</c> for the kernel, initramfs and System.map that <c>./build.sh deps</c> fetched. An option
/// starts at a comma followed by its name and '='; <c>cmdline=</c> (replaces the default command line) or
/// <c>append=</c> (adds to it) comes last and takes the rest of the text, commas included. <c>apic=on</c> boots on a
/// machine with a local APIC and an I/O APIC described by an MP table, with <see cref="LinuxGuest.ApicCommandLine"/>
/// as the default command line (the APICs in use, ACPI still off); <c>apic=off</c> (the default) is the XT-PIC machine.
/// </summary>
public static partial class LinuxGuestSpec
{
    /// <summary>The accepted forms, for help and errors.</summary>
    public const string Syntax = "linux[:VMLINUZ][,initrd=PATH][,map=System.map][,apic=on|off][,cmdline=TEXT|,append=TEXT]";

    private static readonly string[] s_rest = ["cmdline", "append"];

    /// <summary>What a specification asks for; null paths are unset.</summary>
    public sealed record Parts(string? Kernel, string? Initrd, string? Map, string? CommandLine, string? Append)
    {
        /// <summary>True for <c>apic=on</c>.</summary>
        public bool Apic { get; init; }
    }

    /// <summary>Splits a specification (it starts with "linux") into its parts without touching any file.</summary>
    /// <exception cref="GuestImageException">An unknown or repeated option, or an empty value.</exception>
    public static Parts Split(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string s = spec.Trim();
        if (!s.StartsWith("linux", StringComparison.OrdinalIgnoreCase))
        {
            throw new GuestImageException($"'{spec}' is not a Linux guest: use {Syntax}.");
        }

        string body = s[5..];
        string? kernel = null;
        if (body.StartsWith(':'))
        {
            Match first = OptionStart().Match(body, 1);
            kernel = (first.Success ? body[1..first.Index] : body[1..]).Trim();
            body = first.Success ? body[first.Index..] : string.Empty;
            if (kernel.Length == 0)
            {
                throw new GuestImageException($"Guest '{spec}': the kernel path after 'linux:' is empty.");
            }
        }
        else if (body.Length > 0 && !OptionStart().IsMatch(body))
        {
            throw new GuestImageException($"Unknown guest '{spec}': use {Syntax}.");
        }

        Dictionary<string, string> options = Options(spec, body, ["initrd", "map", "apic", "cmdline", "append"]);
        bool apic = options.GetValueOrDefault("apic") switch
        {
            null or "off" => false,
            "on" => true,
            string other => throw new GuestImageException($"Guest '{spec}': apic= takes 'on' or 'off', not '{other}'."),
        };
        return new Parts(kernel, options.GetValueOrDefault("initrd"), options.GetValueOrDefault("map"), options.GetValueOrDefault("cmdline"), options.GetValueOrDefault("append")) { Apic = apic };
    }

    /// <summary>
    /// Splits <paramref name="body"/> (empty, or starting with ',NAME=') into its options: each of
    /// <paramref name="names"/> at most once; <c>cmdline</c> and <c>append</c> take the rest of the text.
    /// </summary>
    /// <exception cref="GuestImageException">An unknown or repeated option, or a path option without a value.</exception>
    internal static Dictionary<string, string> Options(string spec, string body, IReadOnlyCollection<string> names)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        int at = 0;
        while (at < body.Length)
        {
            Match m = OptionStart().Match(body, at);
            if (!m.Success || m.Index != at)
            {
                throw new GuestImageException($"Guest '{spec}': expected ',NAME=VALUE' at '{body[at..]}'.");
            }

            string name = m.Groups[1].Value.ToLowerInvariant();
            int valueStart = m.Index + m.Length;
            Match next = s_rest.Contains(name) ? Match.Empty : OptionStart().Match(body, valueStart);
            int valueEnd = next.Success ? next.Index : body.Length;
            string value = body[valueStart..valueEnd];
            if (!names.Contains(name))
            {
                throw new GuestImageException($"Guest '{spec}': unknown option '{name}' (use {string.Join(", ", names.Select(n => n + "="))}).");
            }

            if (!options.TryAdd(name, value))
            {
                throw new GuestImageException($"Guest '{spec}': option '{name}' is given twice.");
            }

            if (value.Trim().Length == 0 && !s_rest.Contains(name))
            {
                throw new GuestImageException($"Guest '{spec}': '{name}=' needs a path.");
            }

            at = valueEnd;
        }

        return options;
    }

    /// <summary>Where the first ',NAME=' option starts in <paramref name="text"/> at or after
    /// <paramref name="from"/>, or -1.</summary>
    internal static int FirstOption(string text, int from)
    {
        Match m = OptionStart().Match(text, from);
        return m.Success ? m.Index : -1;
    }

    /// <summary>The command line a specification asks for: cmdline= replaces the default, append= adds to it.</summary>
    internal static string CommandLine(string? commandLine, string? append, bool apic = false)
    {
        string standard = apic ? LinuxGuest.ApicCommandLine : LinuxGuest.DefaultCommandLine;
        return commandLine ?? (append is { } extra ? $"{standard} {extra.Trim()}" : standard);
    }

    /// <summary>Parses a specification and reads its files.</summary>
    /// <exception cref="GuestImageException">A bad specification, or a file that is missing or unusable.</exception>
    public static LinuxGuest Parse(string spec)
    {
        Parts p = Split(spec);
        string? kernel = p.Kernel;
        string? initrd = p.Initrd;
        string? map = p.Map;
        if (kernel is null)
        {
            string dir = LinuxGuestFiles.Directory();
            kernel = Path.Combine(dir, LinuxGuestFiles.KernelFile);
            initrd ??= Path.Combine(dir, LinuxGuestFiles.InitramfsFile);
            string fetchedMap = Path.Combine(dir, LinuxGuestFiles.SystemMapFile);
            map ??= File.Exists(fetchedMap) ? fetchedMap : null;
        }

        string commandLine = CommandLine(p.CommandLine, p.Append, p.Apic);
        return LinuxGuest.FromFiles(kernel, initrd, commandLine, map, p.Apic);
    }

    [GeneratedRegex(",([A-Za-z][A-Za-z0-9_]*)=")]
    private static partial Regex OptionStart();
}
