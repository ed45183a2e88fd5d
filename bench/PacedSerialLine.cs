// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Bench;

/// <summary>A socat pty pair (<c>socat -d -d pty,raw,echo=0 pty,raw,echo=0</c>): two connected terminal devices.</summary>
internal sealed class SocatPtyPair : IDisposable
{
    private readonly Process _socat;

    public SocatPtyPair()
    {
        _socat = Process.Start(new ProcessStartInfo("socat", "-d -d pty,raw,echo=0 pty,raw,echo=0") { RedirectStandardError = true })
            ?? throw new InvalidOperationException("socat did not start (./build.sh deps installs it)");
        var ptys = new List<string>();
        while (ptys.Count < 2 && _socat.StandardError.ReadLine() is string line)
        {
            int at = line.IndexOf("/dev/pts/", StringComparison.Ordinal);
            if (at >= 0)
            {
                ptys.Add(line[at..].Trim());
            }
        }

        if (ptys.Count < 2)
        {
            Dispose();
            throw new InvalidOperationException("socat did not report two ptys");
        }

        First = ptys[0];
        Second = ptys[1];
    }

    public string First { get; }

    public string Second { get; }

    public void Dispose()
    {
        if (!_socat.HasExited)
        {
            _socat.Kill();
            _socat.WaitForExit(5000);
        }

        _socat.Dispose();
    }
}

/// <summary>
/// A serial line with a real line's speed: two socat pty pairs joined by a relay that releases at most
/// <c>bytesPerSecond</c> each way (11,520 B/s is 115200 baud 8N1). A pty alone does not pace bytes. The agent opens
/// <see cref="AgentEnd"/>, the host <see cref="HostEnd"/>; the relay holds the middle two ends with plain FileStreams.
/// </summary>
internal sealed class PacedSerialLine : IDisposable
{
    private readonly SocatPtyPair _agentSide = new();
    private readonly SocatPtyPair _hostSide = new();
    private readonly FileStream[] _streams;
    private readonly Thread[] _pumps;
    /// <summary>Most credit an idle line earns, in seconds.</summary>
    private const double Slack = 0.005;

    private long _toHost;
    private long _toAgent;

    public PacedSerialLine(int bytesPerSecond)
    {
        BytesPerSecond = bytesPerSecond;
        string a = _agentSide.Second;
        string b = _hostSide.First;
        _streams =
        [
            new FileStream(a, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0),
            new FileStream(b, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0),
            new FileStream(b, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0),
            new FileStream(a, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0),
        ];
        _pumps =
        [
            new Thread(() => Pump(_streams[0], _streams[1], ref _toHost)) { IsBackground = true, Name = "relay to host" },
            new Thread(() => Pump(_streams[2], _streams[3], ref _toAgent)) { IsBackground = true, Name = "relay to agent" },
        ];
        foreach (Thread t in _pumps)
        {
            t.Start();
        }
    }

    public int BytesPerSecond { get; }

    public string AgentEnd => _agentSide.First;

    public string HostEnd => _hostSide.Second;

    /// <summary>Bytes the relay passed from the agent to the host so far.</summary>
    public long BytesToHost => Interlocked.Read(ref _toHost);

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
        _agentSide.Dispose();
        _hostSide.Dispose();
        foreach (FileStream s in _streams)
        {
            s.Dispose();
        }
    }

    /// <summary>Copies bytes one by one, each no earlier than one byte time after the previous one. An idle line
    /// earns at most <see cref="Slack"/> of credit (the sleeps' granularity), as a UART earns none.</summary>
    private void Pump(FileStream from, FileStream to, ref long counter)
    {
        byte[] buffer = new byte[256];
        long start = Stopwatch.GetTimestamp();
        double byteTime = 1.0 / BytesPerSecond;
        double next = 0;
        try
        {
            while (true)
            {
                int n = from.Read(buffer, 0, buffer.Length);
                if (n <= 0)
                {
                    return;
                }

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
                    Interlocked.Increment(ref counter);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The line was taken down.
        }
    }
}
