// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary>
/// <c>k</c>, <c>kq</c>, <c>kd</c> (HyperDbg's stack backtrace): the return addresses on the halted core's stack as
/// <c>[$+OFFSET]   ADDRESS    (from symbol+0x1a &lt;ADDRESS&gt;)</c>, OFFSET counted from RSP (or <c>base</c>). The
/// frames come from the frame-pointer chain (RBP, then each saved RBP) read through the core's paging, at most
/// <see cref="ProtocolLimits.MaxStackFrames"/>; the walk stops at unmapped memory, at a link that does not go up the
/// stack (a loop) or at a zero return address, and says why. Where the chain gives no frame in the guest's code (a
/// kernel built without frame pointers), the stack is scanned for values that follow a call instruction, and the
/// output says it is a best effort. <c>kq</c>/<c>kd</c> also show every 64-/32-bit slot in between.
/// </summary>
internal sealed class CallStackCommand : IDebuggerCommand
{
    private const ulong DefaultLength = 0x400;
    private const int Slot = 8;

    public IReadOnlyList<string> Names => ["k", "kq", "kd"];

    public string Description => "display the stack backtrace (kq, kd: with the stack's 64-/32-bit values)";

    public IReadOnlyList<string> Syntax => ["k [base StackAddress (hex)] [l Length (hex)]", "kq [base StackAddress (hex)] [l Length (hex)]", "kd [base StackAddress (hex)] [l Length (hex)]"];

    public IReadOnlyList<string> Examples => ["k", "kq l 100", "k base @rsp+20"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        string name = context.Line.TrimStart().Split(' ', 2)[0].ToLowerInvariant();
        HaltedNotification halt = await context.RequireHaltAsync().ConfigureAwait(false);
        AgentToHost regs = await context.Session.SendAsync(new HostToAgent { ReadRegisters = new ReadRegistersRequest { Core = halt.Core } }).ConfigureAwait(false);
        DebugSession.Check(regs.ReadRegisters.Status, regs.ReadRegisters.Message);
        ulong rsp = regs.ReadRegisters.Registers.Values.GetValueOrDefault("rsp");
        ulong rbp = regs.ReadRegisters.Registers.Values.GetValueOrDefault("rbp");

        ulong? baseAddress = null;
        ulong length = DefaultLength;
        for (int i = 0; i < arguments.Count; i += 2)
        {
            if (i + 1 >= arguments.Count || !(arguments[i].Is("base") || arguments[i].Is("l")))
            {
                throw new CommandException($"unexpected '{arguments[i].Value}'.\nsyntax: {name} [base StackAddress (hex)] [l Length (hex)]");
            }

            if (arguments[i].Is("base"))
            {
                baseAddress = await AddressParser.ParseAsync(context, arguments[i + 1].Value).ConfigureAwait(false);
            }
            else
            {
                length = Numbers.Parse(arguments[i + 1].Value, "length", ProtocolLimits.DefaultMaxMemoryBytes);
                length = length == 0 ? throw new CommandException("the length must be at least 1.") : length;
            }
        }

        ulong stackBase = baseAddress ?? rsp;
        var walker = new StackWalker(context, halt.Core);
        (List<(ulong Slot, ulong Return)> frames, string? end) = baseAddress is null ? await walker.FollowFramePointersAsync(rbp, stackBase).ConfigureAwait(false) : ([], null);
        IReadOnlyList<NearestSymbol>? symbols = await SymbolNames.NearestAsync(context, [.. frames.Select(f => f.Return)]).ConfigureAwait(false);
        bool usable = frames.Count > 0 && (symbols is null || symbols.Any(s => s.Found));
        byte[] stack = await walker.ReadAsync(stackBase, length).ConfigureAwait(false);
        if (!usable)
        {
            context.Output.Line(frames.Count == 0
                ? $"the frame-pointer chain (rbp={rbp:x}) gives no frame{(end is null ? string.Empty : $" ({end})")}: scanning the stack for return addresses (best effort)"
                : $"the frame-pointer chain (rbp={rbp:x}) leads outside the guest's code: scanning the stack for return addresses (best effort)");
            frames = await walker.ScanAsync(stackBase, stack).ConfigureAwait(false);
            symbols = await SymbolNames.NearestAsync(context, [.. frames.Select(f => f.Return)]).ConfigureAwait(false);
            end = stack.Length < (int)length ? $"the stack is unmapped from {stackBase + (ulong)stack.Length:x}" : null;
        }

        var returns = new Dictionary<ulong, string>();
        for (int i = 0; i < frames.Count; i++)
        {
            string from = symbols is not null && symbols[i].Found ? SymbolNames.Describe(symbols[i], frames[i].Return) + " " : string.Empty;
            returns[frames[i].Slot] = $"{frames[i].Return:x16}    (from {from}<{frames[i].Return:x16}>)";
        }

        if (name == "k")
        {
            foreach ((ulong slot, _) in frames)
            {
                context.Output.Line($"[$+{slot - stackBase:x3}]   {returns[slot]}");
            }
        }
        else
        {
            int unit = name == "kd" ? 4 : 8;
            for (int offset = 0; offset + unit <= stack.Length; offset += unit)
            {
                ulong slot = stackBase + (ulong)offset;
                string value = unit == 8
                    ? $"{BinaryPrimitives.ReadUInt64LittleEndian(stack.AsSpan(offset)):x16}"
                    : $"{BinaryPrimitives.ReadUInt32LittleEndian(stack.AsSpan(offset)):x8}";
                context.Output.Line(returns.TryGetValue(slot, out string? frame) ? $"[$+{offset:x3}]   {frame}" : $"[$+{offset:x3}]      {value}");
            }
        }

        if (frames.Count == 0)
        {
            context.Output.Line("no return address found on the stack.");
        }

        if (end is not null)
        {
            context.Output.Line($"(the walk ends: {end})");
        }
    }

    /// <summary>Reads the halted core's stack through its paging, one request per frame link.</summary>
    private sealed class StackWalker(CommandContext context, uint core)
    {
        /// <summary>The longest distance one frame link may jump up the stack (a larger one is not a frame).</summary>
        private const ulong MaxFrameSize = 0x10_0000;

        public async Task<byte[]> ReadAsync(ulong address, ulong length)
        {
            AgentToHost r = await context.Session.SendAsync(new HostToAgent { ReadMemory = new ReadMemoryRequest { Address = address, Length = (uint)length, Core = core } }).ConfigureAwait(false);
            DebugSession.Check(r.ReadMemory.Status, r.ReadMemory.Message);
            return r.ReadMemory.Data.ToByteArray();
        }

        /// <summary>RBP → [saved RBP, return address] → ..., up the stack only, at most MaxStackFrames; why it ended
        /// early (null: a zero link or return, the usual end of a chain).</summary>
        public async Task<(List<(ulong Slot, ulong Return)> Frames, string? End)> FollowFramePointersAsync(ulong rbp, ulong rsp)
        {
            var frames = new List<(ulong, ulong)>();
            ulong fp = rbp;
            while (frames.Count < ProtocolLimits.MaxStackFrames)
            {
                if (fp == 0)
                {
                    return (frames, null);
                }

                if (fp < rsp || fp % Slot != 0 || fp - rsp > MaxFrameSize * ProtocolLimits.MaxStackFrames)
                {
                    return (frames, $"rbp link {fp:x} is not on the stack above rsp {rsp:x}");
                }

                byte[] link = await ReadAsync(fp, 2 * Slot).ConfigureAwait(false);
                if (link.Length < 2 * Slot)
                {
                    return (frames, $"{fp + (ulong)link.Length:x} is not mapped");
                }

                ulong next = BinaryPrimitives.ReadUInt64LittleEndian(link);
                ulong ret = BinaryPrimitives.ReadUInt64LittleEndian(link.AsSpan(Slot));
                if (ret == 0)
                {
                    return (frames, null);
                }

                frames.Add((fp + Slot, ret));
                if (next != 0 && (next <= fp || next - fp > MaxFrameSize))
                {
                    return (frames, next <= fp ? $"the saved rbp at {fp:x} ({next:x}) does not go up the stack (a loop)" : $"the saved rbp at {fp:x} jumps {next - fp:x} bytes");
                }

                fp = next;
            }

            return (frames, $"the limit of {ProtocolLimits.MaxStackFrames:x} frames");
        }

        /// <summary>Every stack slot whose value follows a call instruction in mapped code (E8 rel32, FF /2), at most
        /// MaxStackFrames.</summary>
        public async Task<List<(ulong Slot, ulong Return)>> ScanAsync(ulong stackBase, byte[] stack)
        {
            var frames = new List<(ulong, ulong)>();
            for (int offset = 0; offset + Slot <= stack.Length && frames.Count < ProtocolLimits.MaxStackFrames; offset += Slot)
            {
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(stack.AsSpan(offset));
                if (value < 8 || (value >= stackBase && value < stackBase + (ulong)stack.Length))
                {
                    continue;
                }

                byte[] code = await ReadAsync(value - 7, 7).ConfigureAwait(false);
                if (code.Length == 7 && FollowsCall(code))
                {
                    frames.Add((stackBase + (ulong)offset, value));
                }
            }

            return frames;
        }

        /// <summary>True when the 7 bytes before an address end with a call: E8 rel32, or FF /2 with a ModRM of 2 to 7
        /// bytes (register, [reg], [reg+disp8], [reg+disp32], [rip+disp32]).</summary>
        private static bool FollowsCall(ReadOnlySpan<byte> b)
        {
            if (b[2] == 0xE8)
            {
                return true;
            }

            for (int length = 2; length <= 7; length++)
            {
                int at = 7 - length;
                if (b[at] == 0xFF && ((b[at + 1] >> 3) & 7) == 2)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
