// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;
using HyperDbgRemote.Agent;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices.Serial;
using HyperDbgRemote.VmxDriver.Guests;
using Serilog;
using Serilog.Formatting.Compact;

if (!AgentOptions.TryParse(args, out AgentOptions options, out string? error))
{
    if (!string.IsNullOrEmpty(error))
    {
        Console.Error.WriteLine($"hyperdbg-agent: {error}");
    }

    Console.Error.WriteLine(AgentOptions.Usage);
    return string.IsNullOrEmpty(error) ? 0 : 2;
}

LoggerConfiguration logging = new LoggerConfiguration().MinimumLevel.Information();
logging = options.LogJson ? logging.WriteTo.Console(new CompactJsonFormatter(), standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose) : logging.WriteTo.Console(standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose);
if (options.LogFile is not null)
{
    logging = options.LogJson ? logging.WriteTo.File(new CompactJsonFormatter(), options.LogFile) : logging.WriteTo.File(options.LogFile);
}

Log.Logger = logging.CreateLogger();
try
{
    if (options.Listen.Count == 0)
    {
        return GuestRun.Run(options, Console.Out);
    }

    // SIGTERM and SIGINT end the agent cleanly; if cleanup takes longer than ShutdownGrace, the process exits anyway.
    using var stop = new CancellationTokenSource();
    void Shutdown(PosixSignalContext context)
    {
        context.Cancel = true;
        stop.Cancel();
        new Thread(() =>
        {
            Thread.Sleep(AgentServer.ShutdownGrace);
            Environment.Exit(0);
        })
        { IsBackground = true }.Start();
    }

    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Shutdown);
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Shutdown);
    return await AgentServer.RunAsync(options, stop.Token);
}
catch (GuestImageException ex)
{
    Console.Error.WriteLine($"hyperdbg-agent: {ex.Message}");
    return 2;
}
catch (SerialBackendException ex)
{
    Console.Error.WriteLine($"hyperdbg-agent: {ex.Message}");
    return 2;
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"hyperdbg-agent: {ex.Message}");
    return 2;
}
catch (InvalidOperationException ex)
{
    Console.Error.WriteLine($"hyperdbg-agent: {ex.Message}");
    return 2;
}
catch (CpuEngineUnavailableException ex)
{
    Console.Error.WriteLine($"hyperdbg-agent: {ex.Message}");
    return 3;
}
finally
{
    await Log.CloseAndFlushAsync();
}
