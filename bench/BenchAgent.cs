// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Bench;

/// <summary>The guest and the requests the end-to-end benchmarks share.</summary>
internal static class BenchAgent
{
    /// <summary>mov al, 5ah; out 80h, al; jmp back: a guest that does nothing but write the POST port.</summary>
    private static readonly byte[] s_outLoop = [0xB0, 0x5A, 0xE6, 0x80, 0xEB, 0xFA];

    /// <summary>An agent session whose guest loops on <c>out 80h, al</c> (not started).</summary>
    public static DebuggeeSession OutLoopSession(int cores = 1, ulong memoryMiB = 16) =>
        new(new Flat64Guest(s_outLoop, 0x100000), new VmConfiguration { Cores = cores, MemoryBytes = memoryMiB * 1024 * 1024 });

    /// <summary>An <c>!ioout 80</c> registration: a break, or with <paramref name="script"/> an <c>imm no</c> script event.</summary>
    public static EventRegistration Port80(string? script = null) => script is null
        ? new EventRegistration { Direction = IoDirection.Out, Port = 0x80, Immediate = true }
        : new EventRegistration { Direction = IoDirection.Out, Port = 0x80, Immediate = false, Script = script };

    /// <summary>Registers the event, or throws with the agent's message.</summary>
    public static async Task RegisterAsync(IDebuggeeConnection connection, EventRegistration registration)
    {
        AgentToHost reply = await connection.SendAsync(new HostToAgent { RegisterEvent = new RegisterEventRequest { Event = registration } });
        if (reply.RegisterEvent.Status != Status.Ok)
        {
            throw new InvalidOperationException(reply.RegisterEvent.Message);
        }
    }
}
