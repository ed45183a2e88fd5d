// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Bench;

/// <summary>A pseudo-terminal made with posix_openpt: the relay holds the master, a program opens <see cref="SlavePath"/>.</summary>
internal sealed class Pty : IDisposable
{
    private const int ReadWrite = 2; // O_RDWR
    private const int NoControllingTerminal = 0x100; // O_NOCTTY on Linux

    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _master;

    public Pty()
    {
        int fd = NativeMethods.posix_openpt(ReadWrite | NoControllingTerminal);
        if (fd < 0 || NativeMethods.grantpt(fd) != 0 || NativeMethods.unlockpt(fd) != 0)
        {
            throw new InvalidOperationException($"posix_openpt failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }

        _master = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        byte[] name = new byte[128];
        if (NativeMethods.ptsname_r(fd, name, name.Length) != 0)
        {
            throw new InvalidOperationException("ptsname_r failed");
        }

        SlavePath = System.Text.Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0));
        Reader = new FileStream(_master, FileAccess.Read, 0);
        Writer = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(_master.DangerousGetHandle(), ownsHandle: false), FileAccess.Write, 0);
    }

    public string SlavePath { get; }

    public FileStream Reader { get; }

    public FileStream Writer { get; }

    public void Dispose()
    {
        Writer.Dispose();
        Reader.Dispose();
        _master.Dispose();
    }

    private static class NativeMethods
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int posix_openpt(int flags);

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int grantpt(int fd);

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int unlockpt(int fd);

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int ptsname_r(int fd, byte[] buffer, nint length);
    }
}

/// <summary>
/// A serial line with a real line's speed: two pseudo-terminals whose masters are joined by a relay that releases at
/// most <c>bytesPerSecond</c> each way (11,520 B/s is 115200 baud 8N1), one thread per direction, so the directions are
/// as independent as a real line's (a socat pty pair couples them: socat blocked writing one way stops the other).
/// The agent opens <see cref="AgentEnd"/>, the host <see cref="HostEnd"/>.
/// </summary>
internal sealed class PacedSerialLine : IDisposable
{
    /// <summary>Most credit an idle line earns, in seconds.</summary>
    private const double Slack = 0.005;

    private readonly Pty _agentSide = new();
    private readonly Pty _hostSide = new();
    private long _toHost;
    private long _toAgent;
    private volatile bool _disposed;

    public PacedSerialLine(int bytesPerSecond)
    {
        BytesPerSecond = bytesPerSecond;
        foreach ((FileStream from, FileStream to, bool toHost) in new[] { (_agentSide.Reader, _hostSide.Writer, true), (_hostSide.Reader, _agentSide.Writer, false) })
        {
            new Thread(() => Pump(from, to, toHost)) { IsBackground = true, Name = toHost ? "relay to host" : "relay to agent" }.Start();
        }
    }

    public int BytesPerSecond { get; }

    public string AgentEnd => _agentSide.SlavePath;

    public string HostEnd => _hostSide.SlavePath;

    /// <summary>Bytes the relay passed from the agent to the host so far.</summary>
    public long BytesToHost => Interlocked.Read(ref _toHost);

    /// <summary>Bytes the relay passed from the host to the agent so far.</summary>
    public long BytesToAgent => Interlocked.Read(ref _toAgent);

    /// <summary>Bytes per second the line carries from <see cref="AgentEnd"/> to <see cref="HostEnd"/> for a plain writer.</summary>
    public static double Probe(int bytesPerSecond, int bytes)
    {
        using var line = new PacedSerialLine(bytesPerSecond);
        using var writer = new FileStream(line.AgentEnd, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0);
        using var reader = new FileStream(line.HostEnd, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0);
        long start = Stopwatch.GetTimestamp();
        Task write = Task.Run(() => writer.Write(new byte[bytes]));
        byte[] buffer = new byte[4096];
        long received = 0;
        while (received < bytes && reader.Read(buffer) is int n and > 0)
        {
            received += n;
        }

        write.Wait();
        return received / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    public void Dispose()
    {
        _disposed = true;
        _agentSide.Dispose();
        _hostSide.Dispose();
    }

    /// <summary>Copies bytes one by one, each no earlier than one byte time after the previous one. An idle line
    /// earns at most <see cref="Slack"/> of credit (the sleeps' granularity), as a UART earns none.</summary>
    private void Pump(FileStream from, FileStream to, bool toHost)
    {
        byte[] buffer = new byte[256];
        long start = Stopwatch.GetTimestamp();
        double byteTime = 1.0 / BytesPerSecond;
        double next = 0;
        while (!_disposed)
        {
            int n;
            try
            {
                n = from.Read(buffer, 0, buffer.Length);
            }
            catch (IOException)
            {
                // EIO on a master while no program has its slave open (yet, or any more): wait for one.
                Thread.Sleep(10);
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            try
            {
                for (int i = 0; i < n; i++)
                {
                    double now = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    next = Math.Max(next, now - Slack);
                    if (next - now > 0.001)
                    {
                        Thread.Sleep(TimeSpan.FromSeconds(next - now));
                    }

                    to.Write(buffer, i, 1);
                    next += byteTime;
                    Interlocked.Increment(ref toHost ? ref _toHost : ref _toAgent);
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // The receiving end went away: the bytes are lost, as on a real line with nobody listening.
            }
        }
    }
}

/// <summary>
/// A <see cref="PacedSerialLine"/> in a child process of the harness. The line is a separate device: in the harness's
/// own process the runtime's garbage collections of the agent under test would stop the relay too, and a UART does not
/// stop sending while the debuggee's agent collects garbage (measured: in-process, the relay lost about 7% of its time
/// to such pauses while an agent dropped millions of messages).
/// </summary>
internal sealed class PacedSerialLineProcess : IDisposable
{
    private readonly Process _child;

    public PacedSerialLineProcess(int bytesPerSecond)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(typeof(PacedSerialLineProcess).Assembly.Location);
        psi.ArgumentList.Add("--paced-line");
        psi.ArgumentList.Add(bytesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _child = Process.Start(psi) ?? throw new InvalidOperationException("the paced line's process did not start");
        string[] ends = (_child.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the paced line's process printed no pty names")).Split(' ');
        AgentEnd = ends[0];
        HostEnd = ends[1];
    }

    public string AgentEnd { get; }

    public string HostEnd { get; }

    /// <summary>Bytes the line has delivered to the host's end so far.</summary>
    public long BytesToHost => Counts().ToHost;

    /// <summary>Bytes the line has delivered to the agent's end so far.</summary>
    public long BytesToAgent => Counts().ToAgent;

    /// <summary>In the child: serves a line until standard input closes; "count" asks for the byte counts.</summary>
    public static int Serve(int bytesPerSecond)
    {
        using var line = new PacedSerialLine(bytesPerSecond);
        Console.WriteLine($"{line.AgentEnd} {line.HostEnd}");
        while (Console.ReadLine() is string command)
        {
            if (command == "count")
            {
                Console.WriteLine($"{line.BytesToHost} {line.BytesToAgent}");
            }
        }

        return 0;
    }

    private (long ToHost, long ToAgent) Counts()
    {
        _child.StandardInput.WriteLine("count");
        _child.StandardInput.Flush();
        string[] counts = (_child.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the paced line's process ended")).Split(' ');
        return (long.Parse(counts[0], System.Globalization.CultureInfo.InvariantCulture), long.Parse(counts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        _child.StandardInput.Close();
        if (!_child.WaitForExit(5000))
        {
            _child.Kill();
        }

        _child.Dispose();
    }
}
