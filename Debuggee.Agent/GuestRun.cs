// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Devices.Serial;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent;

/// <summary>Runs a guest without a debugger attached and reports what it did (the agent's --run-seconds mode).</summary>
internal static class GuestRun
{
    public static int Run(AgentOptions options, TextWriter output)
    {
        IGuestLoader loader = GuestSpec.Parse(options.Guest);
        int cores = options.Cores ?? loader.DefaultCores;
        ulong memory = options.MemoryBytesFor(loader);
        using var vm = new VirtualMachine(new VmConfiguration { Cores = cores, MemoryBytes = memory, Apic = loader.WantsApic });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = SerialBackendSet.SerialPortsFor(options.ComPorts) });
        vm.AddCores(loader.Load(vm));
        using SerialBackendSet serial = SerialBackendSet.Attach(devices, options.ComPorts);
        foreach (string line in serial.Describe())
        {
            Console.Error.WriteLine(line);
        }

        foreach (Vcpu core in vm.Cores)
        {
            if (options.TrapAll)
            {
                core.Controls.SetAll(true);
            }

            foreach (ushort port in options.TrapPorts)
            {
                core.Controls.SetPort(port, true);
            }
        }

        output.WriteLine($"guest: {loader.Description}, {cores} core(s), {memory / (1024 * 1024)} MiB");
        vm.Start();
        VmStopInfo? stop = vm.WaitForStop(options.RunSeconds is double s ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan);
        if (stop is null && loader is DemoGuest demo)
        {
            demo.RequestStop(vm);
            stop = vm.WaitForStop(TimeSpan.FromSeconds(5));
        }

        if (stop is null)
        {
            vm.Stop();
            stop = vm.StopInfo;
        }

        serial.Dispose(); // flushes what the guest wrote last
        Report(output, vm, devices, serial, stop);
        return stop?.Reason == VmStopReason.Fault ? 1 : 0;
    }

    private static void Report(TextWriter output, VirtualMachine vm, StandardDevices devices, SerialBackendSet serial, VmStopInfo? stop)
    {
        output.WriteLine($"stopped: {stop?.Reason}{(stop?.ExitStatus is int x ? $" (exit status {x})" : string.Empty)}{(stop?.Report is string r ? $": {r}" : string.Empty)}");
        if (serial.Backend(1) is null)
        {
            WriteCapture(output, "COM1", devices.Com1.Transmitted); // with a backend, COM1's output went there
        }

        WriteCapture(output, "debug console 0x402", devices.DebugConsole.Output);
        output.WriteLine("I/O exits per port:");
        IReadOnlyDictionary<ushort, long> exits = vm.ExitCountsByPort();
        if (exits.Count == 0)
        {
            output.WriteLine("  (none: no port was trapped)");
        }

        foreach ((ushort port, long count) in exits)
        {
            output.WriteLine($"  0x{port:X4}  {count,12:N0}");
        }

        foreach (Vcpu core in vm.Cores)
        {
            output.WriteLine($"core {core.Index}: {core.ExitCount:N0} exits, {core.BlocksExecuted:N0} blocks");
        }
    }

    private static void WriteCapture(TextWriter output, string name, ByteCapture capture)
    {
        if (capture.Total == 0)
        {
            return;
        }

        string text = capture.Text();
        output.WriteLine($"--- {name} ({capture.Total:N0} bytes{(capture.Dropped > 0 ? $", first {capture.Dropped:N0} not kept" : string.Empty)}) ---");
        output.Write(text.EndsWith('\n') ? text : text + Environment.NewLine);
        output.WriteLine($"--- end of {name} ---");
    }
}
