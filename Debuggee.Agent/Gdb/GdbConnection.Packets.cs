// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Gdb;

/// <content>The packets (gdb docs, "Packets", "General Query Packets"); an unknown one gets the empty reply.</content>
internal sealed partial class GdbConnection
{
    private async Task<string?> HandlePacketAsync(string p, CancellationToken cancellationToken)
    {
        if (p.Length == 0)
        {
            return string.Empty;
        }

        switch (WhenResumedByAnother(p))
        {
            case Resumed.Wait:
                // gdb continues a guest that already runs: its stop reply is the next halt's.
                DrainHalts();
                if (!_session.Vm.IsHalted)
                {
                    return await WaitForStopAsync(cancellationToken).ConfigureAwait(false);
                }

                break;
            case Resumed.BreakIn when !_session.Vm.IsHalted:
                if (!await Task.Run(() => _session.Pause(s_pauseTimeout), cancellationToken).ConfigureAwait(false))
                {
                    return Error("the guest did not halt");
                }

                break;
        }

        switch (p[0])
        {
            case '?':
                if (!_session.Vm.IsHalted && !await Task.Run(() => _session.Pause(s_pauseTimeout), cancellationToken).ConfigureAwait(false))
                {
                    return Error("the guest did not halt");
                }

                return _session.Vm.CurrentHalt is VmHaltInfo h ? StopReply(h, signal: 5) : "W00";
            case 'g':
                return Halted("reading registers", () =>
                {
                    Vcpu c = _session.Core(_core);
                    var sb = new StringBuilder();
                    for (int i = 0; i < _registers.Layout.Count; i++)
                    {
                        sb.Append(Hex(_registers.Read(c, i)));
                    }

                    return sb.ToString();
                });
            case 'G':
                {
                    byte[] all = ParseHex(p.AsSpan(1));
                    int expected = _registers.Layout.Sum(e => e.Bytes);
                    if (all.Length != expected)
                    {
                        return Error($"G carries {all.Length} bytes; the registers take {expected}");
                    }

                    return Halted("writing registers", () =>
                    {
                        Vcpu c = _session.Core(_core);
                        int offset = 0;
                        for (int i = 0; i < _registers.Layout.Count; i++)
                        {
                            int size = _registers.Layout[i].Bytes;
                            _registers.Write(c, i, all.AsSpan(offset, size));
                            offset += size;
                        }

                        return "OK";
                    });
                }

            case 'p':
                {
                    int n = RegisterNumber(p.AsSpan(1));
                    return Halted("reading registers", () => Hex(_registers.Read(_session.Core(_core), n)));
                }

            case 'P':
                {
                    int eq = p.IndexOf('=', StringComparison.Ordinal);
                    if (eq < 0)
                    {
                        return Error("P needs n=value");
                    }

                    int n = RegisterNumber(p.AsSpan(1, eq - 1));
                    byte[] value = ParseHex(p.AsSpan(eq + 1));
                    if (value.Length != _registers.Layout[n].Bytes)
                    {
                        return Error($"register {_registers.Layout[n].Name} takes {_registers.Layout[n].Bytes} bytes, not {value.Length}");
                    }

                    return Halted("writing registers", () =>
                    {
                        _registers.Write(_session.Core(_core), n, value);
                        return "OK";
                    });
                }

            case 'm':
                {
                    (ulong address, int length) = AddressLength(p.AsSpan(1));
                    if (length > _maxPacket / 2)
                    {
                        return Error($"reading {length} bytes exceeds {_maxPacket / 2} per packet");
                    }

                    byte[] data = _session.ReadMemory(address, length, physical: false, _core);
                    return data.Length == 0 && length > 0 ? "E14" : Hex(data);
                }

            case 'M':
            case 'X':
                {
                    int colon = p.IndexOf(':', StringComparison.Ordinal);
                    if (colon < 0)
                    {
                        return Error($"{p[0]} needs ADDR,LENGTH:DATA");
                    }

                    (ulong address, int length) = AddressLength(p.AsSpan(1, colon - 1));
                    byte[] data = p[0] == 'M' ? ParseHex(p.AsSpan(colon + 1)) : Encoding.Latin1.GetBytes(p[(colon + 1)..]);
                    if (data.Length != length)
                    {
                        return Error($"the packet carries {data.Length} bytes, not {length}");
                    }

                    if (length == 0)
                    {
                        return "OK";
                    }

                    return _session.WriteMemory(address, data, physical: false, _core) == length ? "OK" : "E14";
                }

            case 'c':
            case 'C':
            case 's':
            case 'S':
                {
                    string rest = p[1..];
                    if (p[0] is 'C' or 'S')
                    {
                        int semi = rest.IndexOf(';', StringComparison.Ordinal);
                        rest = semi < 0 ? string.Empty : rest[(semi + 1)..];
                    }

                    if (rest.Length > 0)
                    {
                        ulong rip = ParseNumber(rest);
                        Halted("setting RIP", () =>
                        {
                            RegisterNames.Write(_session.Core(_core), "rip", rip);
                            return "OK";
                        });
                    }

                    return await ResumeAsync(p[0] is 's' or 'S' ? _core : null, cancellationToken).ConfigureAwait(false);
                }

            case 'v':
                return await HandleVAsync(p, cancellationToken).ConfigureAwait(false);
            case 'H':
                {
                    if (p.Length < 2)
                    {
                        return Error("H needs g or c and a thread");
                    }

                    long thread = ParseThread(p.AsSpan(2));
                    if (thread > 0)
                    {
                        _core = CoreOf(thread);
                    }

                    return "OK";
                }

            case 'T':
                CoreOf(ParseThread(p.AsSpan(1)));
                return "OK";
            case 'Z':
            case 'z':
                return Breakpoint(p);
            case 'D':
                Cleanup(resume: true);
                _done = true;
                return "OK";
            case 'k':
                Cleanup(resume: true);
                _done = true;
                return null;
            case 'q':
            case 'Q':
                return await QueryAsync(p, cancellationToken).ConfigureAwait(false);
            default:
                return string.Empty;
        }
    }

    /// <summary>What a packet needs when the guest runs although gdb saw it stop.</summary>
    private enum Resumed
    {
        /// <summary>Nothing: it does not need a halted guest (memory, breakpoints, queries), or it is <c>?</c>, which
        /// breaks in itself.</summary>
        Nothing,

        /// <summary>Registers or a step: break in first.</summary>
        BreakIn,

        /// <summary>A continue (no new address): wait for the next halt.</summary>
        Wait,
    }

    /// <summary>
    /// gdb's all-stop mode takes the guest as halted from a stop reply to its next resume, but our debugger (or a script,
    /// or <c>--resume-after</c>) may resume it meanwhile. Then a packet that needs the halted guest breaks in first, as
    /// attaching does, so what gdb reads and steps is a halted core (our debugger sees that halt as a break-in); a continue
    /// waits for the next halt instead of failing.
    /// </summary>
    private static Resumed WhenResumedByAnother(string p) => p[0] switch
    {
        'g' or 'G' or 'p' or 'P' or 's' or 'S' => Resumed.BreakIn,
        'c' => p.Length > 1 ? Resumed.BreakIn : Resumed.Wait,
        'C' => p.Contains(';', StringComparison.Ordinal) ? Resumed.BreakIn : Resumed.Wait,
        'v' when p.StartsWith("vCont;", StringComparison.Ordinal) =>
            p[6..].Split(';').Any(a => a.Length > 0 && a[0] is 's' or 'S') ? Resumed.BreakIn : Resumed.Wait,
        _ => Resumed.Nothing,
    };

    private async Task<string?> HandleVAsync(string p, CancellationToken cancellationToken)
    {
        if (p == "vCont?")
        {
            return "vCont;c;C;s;S";
        }

        if (!p.StartsWith("vCont;", StringComparison.Ordinal))
        {
            return string.Empty; // vMustReplyEmpty and the rest
        }

        int? step = null;
        bool any = false;
        foreach (string action in p[6..].Split(';'))
        {
            string[] parts = action.Split(':');
            string verb = parts[0];
            if (verb.Length == 0 || verb[0] is not ('c' or 'C' or 's' or 'S'))
            {
                return Error($"vCont action '{action}' is not supported (c, C, s, S)");
            }

            any = true;
            if (verb[0] is 's' or 'S' && step is null)
            {
                step = parts.Length > 1 ? CoreOf(ParseThread(parts[1])) : _core;
            }
        }

        return any ? await ResumeAsync(step, cancellationToken).ConfigureAwait(false) : Error("vCont without actions");
    }

    private async Task<string?> ResumeAsync(int? stepCore, CancellationToken cancellationToken)
    {
        DrainHalts();
        if (stepCore is int core)
        {
            _control.Step(core, cancellationToken);
        }
        else
        {
            _control.Continue(cancellationToken);
        }

        return await WaitForStopAsync(cancellationToken).ConfigureAwait(false);
    }

    private string Breakpoint(string p)
    {
        string[] parts = p[1..].Split(',');
        if (parts.Length >= 3 && parts[0] is "2" or "3" or "4")
        {
            return Watchpoint(p[0] == 'Z', parts[0][0], ParseNumber(parts[1]), ParseNumber(parts[2]));
        }

        if (parts.Length < 2 || parts[0] is not ("0" or "1"))
        {
            return string.Empty;
        }

        ulong address = ParseNumber(parts[1]);
        HashSet<ulong> mine = parts[0] == "0" ? _software : _hardware;
        if (p[0] == 'Z')
        {
            if (mine.Contains(address))
            {
                return "OK";
            }

            if (parts[0] == "1" && _hardware.Count >= MaxHardwareBreakpoints)
            {
                return Error($"at most {MaxHardwareBreakpoints} hardware breakpoints");
            }

            _ = _session.Breakpoints.SetGdb(_client, address, hardware: parts[0] == "1");
            mine.Add(address);
            return "OK";
        }

        if (mine.Contains(address))
        {
            _ = _session.Breakpoints.ClearGdb(_client, address, hardware: parts[0] == "1");
            mine.Remove(address);
        }

        return "OK";
    }

    /// <summary>Z2/Z3/Z4 (write, read, access watchpoints) on <c>!monitor</c>'s mechanism: a memory monitor owned by
    /// this client; z2-z4 remove it.</summary>
    private string Watchpoint(bool set, char type, ulong address, ulong length)
    {
        MemoryAccessKinds kind = type switch
        {
            '2' => MemoryAccessKinds.Write,
            '3' => MemoryAccessKinds.Read,
            _ => MemoryAccessKinds.Read | MemoryAccessKinds.Write,
        };
        var key = (type, address, length);
        if (!set)
        {
            if (_watchpoints.Remove(key, out MemoryMonitor? old))
            {
                _session.Vm.RemoveMemoryMonitor(old);
            }

            return "OK";
        }

        if (_watchpoints.ContainsKey(key))
        {
            return "OK";
        }

        if (length == 0 || length > MaxWatchLength)
        {
            return Error($"a watchpoint covers 1 to {MaxWatchLength} bytes");
        }

        if (_watchpoints.Count >= MaxWatchpoints)
        {
            return Error($"at most {MaxWatchpoints} watchpoints");
        }

        try
        {
            MemoryMonitor monitor = VirtualMachine.CreateMemoryMonitor(_session.Vm.Cores[_core], address, address + length - 1, kind, new Events.Watchpoint(address, length, kind));
            _session.Vm.AddMemoryMonitor(monitor);
            _watchpoints[key] = monitor;
            return "OK";
        }
        catch (ArgumentException ex)
        {
            return Error(ex.Message.Split(" (Parameter", 2)[0]);
        }
    }

    private async Task<string?> QueryAsync(string p, CancellationToken cancellationToken)
    {
        if (p.StartsWith("qSupported", StringComparison.Ordinal))
        {
            _errorMessages = p.Contains("error-message+", StringComparison.Ordinal);
            return string.Create(CultureInfo.InvariantCulture, $"PacketSize={_maxPacket:x};qXfer:features:read+;vContSupported+{(_errorMessages ? ";error-message+" : string.Empty)}");
        }

        if (p.StartsWith("qXfer:features:read:", StringComparison.Ordinal))
        {
            string[] parts = p["qXfer:features:read:".Length..].Split(':');
            if (parts.Length != 2 || parts[0] != "target.xml")
            {
                return "E00";
            }

            (ulong offset, int length) = AddressLength(parts[1]);
            if (offset == 0)
            {
                // gdb reads the description once, when it connects: the layout follows the halted core's mode then and
                // stays for the connection (a running guest gets the 64-bit one).
                _registers = ChooseRegisters();
            }

            string xml = _registers.TargetXml;
            if (offset >= (ulong)xml.Length)
            {
                return "l";
            }

            int take = Math.Min(length, xml.Length - (int)offset);
            return string.Concat((int)offset + take >= xml.Length ? "l" : "m", xml.AsSpan((int)offset, take));
        }

        switch (p)
        {
            case "qAttached":
                return "1";
            case "qC":
                return string.Create(CultureInfo.InvariantCulture, $"QC{_core + 1:x}");
            case "qfThreadInfo":
                return "m" + string.Join(',', Enumerable.Range(1, _session.Vm.Cores.Count).Select(i => i.ToString("x", CultureInfo.InvariantCulture)));
            case "qsThreadInfo":
                return "l";
        }

        if (p.StartsWith("qRcmd,", StringComparison.Ordinal))
        {
            string command = Encoding.UTF8.GetString(ParseHex(p.AsSpan(6)));
            string output = await _monitor(command, cancellationToken).ConfigureAwait(false);
            if (output.Length > 0)
            {
                // One console-output packet per piece that fits the packet size.
                int chunk = (_maxPacket / 2) - 2;
                for (int i = 0; i < output.Length; i += chunk)
                {
                    await ReplyAsync("O" + HexText(output.Substring(i, Math.Min(chunk, output.Length - i))), cancellationToken).ConfigureAwait(false);
                }
            }

            return "OK";
        }

        return string.Empty;
    }

    private string Halted(string what, Func<string> action) => _session.WhileHalted(what, action);

    /// <summary>The register layout for the current core: amd64 in long mode (compatibility mode included: its registers
    /// are still 64 bits wide, and a 64-bit kernel's gdb must keep them when a 32-bit process is interrupted, as QEMU's
    /// stub does) and while the guest runs, i386 for 32-bit protected-mode code, i386's registers with the architecture
    /// i8086 for 16-bit code.</summary>
    private GdbRegisters ChooseRegisters()
    {
        try
        {
            return _session.WhileHalted("reading the core's mode", () =>
            {
                Vcpu core = _session.Core(_core);
                return core.Is64Bit ? GdbRegisters.Amd64 : GdbRegisters.ForBitness(core.CodeBitness());
            });
        }
        catch (SessionException)
        {
            return GdbRegisters.Amd64;
        }
    }

    private int CoreOf(long thread) =>
        thread >= 1 && thread <= _session.Vm.Cores.Count ? (int)thread - 1 : throw new ArgumentException($"thread {thread:x} does not exist (threads 1 to {_session.Vm.Cores.Count:x}, one per core)");

    private static long ParseThread(ReadOnlySpan<char> text) =>
        text is "-1" ? -1 : (long)ParseNumber(text);

    private int RegisterNumber(ReadOnlySpan<char> text)
    {
        ulong n = ParseNumber(text);
        return n < (ulong)_registers.Layout.Count ? (int)n : throw new ArgumentException($"register {n:x} does not exist (0 to {_registers.Layout.Count - 1:x})");
    }

    private static (ulong Address, int Length) AddressLength(ReadOnlySpan<char> text)
    {
        int comma = text.IndexOf(',');
        if (comma < 0)
        {
            throw new FormatException("expected ADDR,LENGTH in hex");
        }

        ulong length = ParseNumber(text[(comma + 1)..]);
        return (ParseNumber(text[..comma]), length <= int.MaxValue ? (int)length : throw new FormatException($"length {length:x} is too large"));
    }

    private static ulong ParseNumber(ReadOnlySpan<char> text) =>
        ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v) && text.Length > 0
            ? v
            : throw new FormatException($"'{text}' is not a hex number");

    private static byte[] ParseHex(ReadOnlySpan<char> text)
    {
        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw new FormatException("malformed hex data");
        }
    }
}
