// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

if (!AgentOptions.TryParse(args, out AgentOptions options, out string? error))
{
    if (!string.IsNullOrEmpty(error))
    {
        Console.Error.WriteLine($"hyperdbg-agent: {error}");
    }

    Console.Error.WriteLine(AgentOptions.Usage);
    return string.IsNullOrEmpty(error) ? 0 : 2;
}

try
{
    return GuestRun.Run(options, Console.Out);
}
catch (GuestImageException ex)
{
    Console.Error.WriteLine($"hyperdbg-agent: {ex.Message}");
    return 2;
}
catch (CpuEngineUnavailableException ex)
{
    Console.Error.WriteLine($"hyperdbg-agent: {ex.Message}");
    return 3;
}
