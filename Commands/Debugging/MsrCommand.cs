// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Debugging;

/// <summary>
/// <c>rdmsr Msr [core N]</c> and <c>wrmsr Msr Value [core N]</c> (HyperDbg's syntax, hex): read or write a
/// model-specific register on one core, or on every core when none is named, as HyperDbg does. The debuggee must be
/// halted. Output as HyperDbg's: <c>core : 0x0 - msr[c0000080] = 00000000`00000500</c>.
/// </summary>
internal sealed class MsrCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => ["rdmsr", "wrmsr"];

    public string Description => "read (rdmsr) or write (wrmsr) a model-specific register";

    public IReadOnlyList<string> Syntax => ["rdmsr Msr [core CoreNumber]", "wrmsr Msr Value [core CoreNumber]"];

    public IReadOnlyList<string> Examples => ["rdmsr c0000080", "rdmsr c0000082 core 1", "wrmsr c0000100 7fff0000"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        bool write = context.Line.TrimStart().StartsWith("wrmsr", StringComparison.OrdinalIgnoreCase);
        var values = new List<string>();
        uint? core = null;
        for (int i = 0; i < arguments.Count; i++)
        {
            if (arguments[i].Value.Equals("core", StringComparison.OrdinalIgnoreCase))
            {
                if (i + 1 >= arguments.Count || core is not null)
                {
                    throw Usage(write, "'core' needs one core number");
                }

                core = (uint)Numbers.Parse(arguments[++i].Value, "core number", uint.MaxValue);
                continue;
            }

            values.Add(arguments[i].Value);
        }

        if (values.Count != (write ? 2 : 1))
        {
            throw Usage(write, write ? "wrmsr needs an MSR and a value" : "rdmsr needs one MSR");
        }

        uint msr = (uint)Numbers.Parse(values[0], "MSR", uint.MaxValue);
        await context.RequireHaltAsync().ConfigureAwait(false);
        if (write)
        {
            ulong value = Numbers.Parse(values[1], "value", ulong.MaxValue);
            var request = new WriteMsrRequest { Msr = msr, Value = value };
            if (core is uint c)
            {
                request.Core = c;
            }

            AgentToHost w = await context.Session.SendAsync(new HostToAgent { WriteMsr = request }, context.Cancellation).ConfigureAwait(false);
            DebugSession.Check(w.WriteMsr.Status, w.WriteMsr.Message);
            return;
        }

        var read = new ReadMsrRequest { Msr = msr };
        if (core is uint one)
        {
            read.Core = one;
        }

        AgentToHost r = await context.Session.SendAsync(new HostToAgent { ReadMsr = read }, context.Cancellation).ConfigureAwait(false);
        DebugSession.Check(r.ReadMsr.Status, r.ReadMsr.Message);
        foreach (MsrValue v in r.ReadMsr.Values)
        {
            context.Output.Line($"core : 0x{v.Core:x} - msr[{msr:x}] = {v.Value >> 32:x8}`{v.Value & 0xFFFF_FFFF:x8}");
        }
    }

    private CommandException Usage(bool write, string problem) =>
        new($"{problem}.\nsyntax: {Syntax[write ? 1 : 0]}");
}
